"""The installed `ogx-mcp` distribution is discoverable through its entry point, and
discovering it imports neither the MCP SDK nor the runtime."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "mcp"
    distribution = "ogx-mcp"
    provider_types = {"remote::model-context-protocol": Api.tool_runtime}
    heavy_modules = ("mcp", "ogx_mcp.runtime", "ogx_mcp.connection", "httpx")
