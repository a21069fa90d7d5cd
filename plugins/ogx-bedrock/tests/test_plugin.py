"""The installed `ogx-bedrock` distribution is discoverable through its entry point."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "bedrock"
    distribution = "ogx-bedrock"
    provider_types = {"remote::bedrock": Api.inference}
    heavy_modules = ("botocore", "ogx_bedrock.adapter", "ogx_bedrock.translate")
