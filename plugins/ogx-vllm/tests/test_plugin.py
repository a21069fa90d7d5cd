"""The installed `ogx-vllm` distribution is discoverable through its entry point."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "vllm"
    distribution = "ogx-vllm"
    provider_types = {"remote::vllm": Api.inference}
    heavy_modules = ("ogx_vllm.adapter", "ogx_vllm.config", "httpx")
