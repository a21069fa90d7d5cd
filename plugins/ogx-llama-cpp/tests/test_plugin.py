"""The installed `ogx-llama-cpp` distribution is discoverable through its entry point, and
discovering it (or reading its config) never imports llama-cpp-python."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "llama-cpp"
    distribution = "ogx-llama-cpp"
    provider_types = {"inline::llama-cpp": Api.inference}
    heavy_modules = ("llama_cpp", "ogx_llama_cpp.provider", "ogx_llama_cpp.engine")
