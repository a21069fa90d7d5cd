"""Turning a run config's provider entries into started provider instances."""
