"""OGX vector-io provider `inline::faiss`: FAISS HNSW over SQLite (chunks, BM25), persisted on disk."""
