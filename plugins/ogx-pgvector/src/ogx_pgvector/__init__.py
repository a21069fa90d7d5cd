"""OGX vector-io provider `remote::pgvector`: PostgreSQL with pgvector and full-text search."""
