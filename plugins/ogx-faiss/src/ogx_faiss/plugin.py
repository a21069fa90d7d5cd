"""Entry point of the `ogx-faiss` plugin (group `ogx`, name `faiss`).

Imports only `ogx_api`: FAISS and numpy are imported through the dotted paths, and only when a
run config uses `inline::faiss`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::faiss",
            config_class="ogx_faiss.config:FaissConfig",
            factory="ogx_faiss.provider:create_provider",
            description="In-process vector indexes: FAISS HNSW (cosine) and BM25 keyword search over "
            "chunks kept in SQLite, persisted under the data directory.",
        )
    ]
