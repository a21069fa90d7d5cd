"""OGX vector-io provider `inline::faiss`: FAISS HNSW and BM25 over chunks in SQLite, persisted on disk."""
