"""Routing of resources (models, …) to the providers that serve them."""
