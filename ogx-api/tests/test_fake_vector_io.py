"""The in-memory reference `vector_io` provider of `ogx_api.testing.fakes` passes the vector-io
conformance suite, so tests above the provider layer run against the contract's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogx_api.testing.fakes import FakeVectorIOConfig, FakeVectorIOProvider
from ogx_api.testing.vector_io import ProviderFactory, VectorIOConformance


class TestFakeVectorIOConformance(VectorIOConformance):
    @pytest.fixture
    def make_provider(self, tmp_path: Path) -> ProviderFactory:
        async def make() -> FakeVectorIOProvider:
            provider = FakeVectorIOProvider(FakeVectorIOConfig(persist_path=str(tmp_path / "index.json")))
            await provider.start()
            return provider

        return make
