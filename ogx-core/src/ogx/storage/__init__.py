"""State: SQLAlchemy (async) over SQLite by default or PostgreSQL by URL, with versioned migrations."""

from ogx.storage.engine import create_engine, default_data_dir, resolve_storage_url
from ogx.storage.migrations import migrate

__all__ = ["create_engine", "default_data_dir", "migrate", "resolve_storage_url"]
