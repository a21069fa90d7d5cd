"""The installed `ogx-pgvector` distribution is discoverable through its entry point and loads
no database driver until a run config uses it."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "pgvector"
    distribution = "ogx-pgvector"
    provider_types = {"remote::pgvector": Api.vector_io}
    heavy_modules = ("asyncpg", "ogx_pgvector.provider", "ogx_pgvector.filters")
