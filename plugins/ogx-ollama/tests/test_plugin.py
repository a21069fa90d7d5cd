"""The installed `ogx-ollama` distribution is discoverable through its entry point."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "ollama"
    distribution = "ogx-ollama"
    provider_types = {"remote::ollama": Api.inference}
    heavy_modules = ("ogx_ollama.adapter", "ogx_ollama.config", "httpx", "rich")
