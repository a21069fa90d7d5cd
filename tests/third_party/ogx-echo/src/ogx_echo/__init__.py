"""A third-party OGX provider: `remote::echo` answers with the last user message."""
