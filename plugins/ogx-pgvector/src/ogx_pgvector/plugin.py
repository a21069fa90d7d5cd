"""Entry point of the `ogx-pgvector` plugin (group `ogx`, name `pgvector`).

Imports only `ogx_api`: asyncpg is imported through the dotted paths, and only when a run
config uses `remote::pgvector`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::pgvector",
            config_class="ogx_pgvector.config:PGVectorConfig",
            factory="ogx_pgvector.provider:create_provider",
            description="Vector indexes in PostgreSQL with pgvector: HNSW cosine search, full-text "
            "BM25 keyword search (postings in PostgreSQL), filters in SQL, a connection pool.",
        )
    ]
