"""The OpenAI Vector Stores API over `vector_io` providers: `VectorStoresService` (stores,
files, file batches, search), ingestion as background jobs, and the native vector-io calls."""

from ogx.vector_stores.service import INGEST_JOB, VectorStoresService

__all__ = ["INGEST_JOB", "VectorStoresService"]
