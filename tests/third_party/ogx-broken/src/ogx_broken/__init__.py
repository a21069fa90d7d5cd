"""A third-party OGX plugin that cannot be imported."""
