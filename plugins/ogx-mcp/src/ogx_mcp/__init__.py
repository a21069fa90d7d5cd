"""OGX tool runtime `remote::model-context-protocol`: tools served by MCP servers."""
