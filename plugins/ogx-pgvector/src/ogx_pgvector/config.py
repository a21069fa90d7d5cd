"""Configuration of the `remote::pgvector` provider. Importing it does not import asyncpg.

Unset fields fall back to the environment (`PGVECTOR_DSN`, `PGVECTOR_HOST`, `PGVECTOR_PORT`,
`PGVECTOR_DB`, `PGVECTOR_USER`, `PGVECTOR_PASSWORD`); values in the run config always win.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _secret_env(name: str) -> SecretStr | None:
    value = os.environ.get(name)
    return SecretStr(value) if value else None


class PGVectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dsn: SecretStr | None = Field(
        default_factory=lambda: _secret_env("PGVECTOR_DSN"),
        description="A `postgresql://user:password@host:port/db` URL; when set, the fields below "
        "are ignored. Default: env `PGVECTOR_DSN`.",
    )
    host: str = Field(default_factory=lambda: _env("PGVECTOR_HOST", "localhost"), min_length=1)
    port: int = Field(default_factory=lambda: int(_env("PGVECTOR_PORT", "5432")), ge=1, le=65535)
    db: str = Field(default_factory=lambda: _env("PGVECTOR_DB", "postgres"), min_length=1)
    user: str = Field(default_factory=lambda: _env("PGVECTOR_USER", "postgres"), min_length=1)
    password: SecretStr | None = Field(default_factory=lambda: _secret_env("PGVECTOR_PASSWORD"))
    pool_min_size: int = Field(default=1, ge=0, le=100)
    pool_max_size: int = Field(default=10, ge=1, le=100, description="Connections kept at most.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to open a connection.")
    text_search_config: str = Field(
        default="english",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Unused: keyword search is BM25 over OGX's own terms (as `inline::faiss`); kept "
        "so run configs that set it still load.",
    )
    hnsw_m: int = Field(default=16, ge=2, le=100, description="HNSW graph degree (`m`).")
    hnsw_ef_construction: int = Field(default=64, ge=4, le=1000, description="HNSW build beam width.")
    hnsw_ef_search: int = Field(
        default=64, ge=1, le=1000, description="`hnsw.ef_search` (raised to `k` when `k` is larger)."
    )

    @model_validator(mode="after")
    def _pool_sizes(self) -> PGVectorConfig:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    def dsn_value(self) -> str:
        if self.dsn is not None:
            return self.dsn.get_secret_value()
        credentials = quote(self.user, safe="")
        if self.password is not None:
            credentials += ":" + quote(self.password.get_secret_value(), safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(self.db, safe='')}"

    def where(self) -> str:
        """Where the database is, for messages: never the password."""
        if self.dsn is not None:
            parts = urlsplit(self.dsn.get_secret_value())
            return f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        return f"{self.host}:{self.port}/{self.db}"
