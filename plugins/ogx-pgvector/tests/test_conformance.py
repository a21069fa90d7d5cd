"""`remote::pgvector` passes the vector-io conformance suite against a real PostgreSQL 18 with
pgvector (a fresh database per test, in which the provider creates the extension itself)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ogx_api.testing.vector_io import ProviderFactory, VectorIOConformance
from ogx_pgvector.config import PGVectorConfig
from ogx_pgvector.provider import PGVectorIO


@pytest.mark.integration
class TestPGVectorConformance(VectorIOConformance):
    @pytest.fixture
    def make_provider(self, ogx_postgres_database: str) -> ProviderFactory:
        async def make() -> PGVectorIO:
            provider = PGVectorIO(PGVectorConfig(dsn=SecretStr(ogx_postgres_database), pool_max_size=4))
            await provider.start()
            return provider

        return make
