"""Stores of user-created objects, each owning its tables' queries."""
