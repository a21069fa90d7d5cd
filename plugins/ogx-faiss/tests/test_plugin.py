"""The installed `ogx-faiss` distribution is discoverable through its entry point and loads
neither FAISS nor numpy until a run config uses it."""

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "faiss"
    distribution = "ogx-faiss"
    provider_types = {"inline::faiss": Api.vector_io}
    heavy_modules = (
        "faiss",
        "numpy",
        "ogx_faiss.provider",
        "ogx_faiss.vectors",
        "ogx_faiss.store",
        "ogx_faiss.keywords",
    )
