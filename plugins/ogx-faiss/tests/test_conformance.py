"""`inline::faiss` passes the vector-io conformance suite, over a directory that outlives each
provider (the suite restarts it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogx_api.testing.vector_io import ProviderFactory, VectorIOConformance
from ogx_faiss.config import FaissConfig
from ogx_faiss.provider import FaissVectorIO


class TestFaissConformance(VectorIOConformance):
    @pytest.fixture
    def make_provider(self, tmp_path: Path) -> ProviderFactory:
        async def make() -> FaissVectorIO:
            provider = FaissVectorIO(FaissConfig(storage_dir=tmp_path))
            await provider.start()
            return provider

        return make


class TestFaissConformanceThroughTheGraph(TestFaissConformance):
    """The same suite with exact search switched off, so every query goes through the HNSW
    graph (with its selectors for filters and deleted chunks)."""

    @pytest.fixture
    def make_provider(self, tmp_path: Path) -> ProviderFactory:
        async def make() -> FaissVectorIO:
            provider = FaissVectorIO(FaissConfig(storage_dir=tmp_path, exact_search_max=0))
            await provider.start()
            return provider

        return make
