"""Starting against a database without pgvector: the provider creates the extension when it
may, and otherwise fails at start with the statement an administrator must run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from ogx_api import ProviderUnavailable
from ogx_api.testing.postgres import PostgresServer
from ogx_api.testing.vector_io import corpus_chunks, ids
from ogx_api.vector_io import VectorQuery
from ogx_pgvector.config import PGVectorConfig
from ogx_pgvector.provider import CREATE_EXTENSION, PGVectorIO

pytestmark = pytest.mark.integration


@pytest.fixture
def unprivileged_database(ogx_postgres: PostgresServer) -> Iterator[tuple[str, str]]:
    """(database, URL as a role that owns the database but is no superuser)."""
    role = f"ogx_app_{uuid.uuid4().hex[:8]}"
    database = ogx_postgres.create_database()
    ogx_postgres.psql(
        f"CREATE ROLE {role} LOGIN PASSWORD 's3cret-pw'; ALTER DATABASE {database} OWNER TO {role};"
    )
    url = f"postgresql://{role}:s3cret-pw@{ogx_postgres.host}:{ogx_postgres.port}/{database}"
    try:
        yield database, url
    finally:
        ogx_postgres.drop_database(database)
        ogx_postgres.psql(f"DROP ROLE IF EXISTS {role};")


async def test_a_role_that_may_not_create_pgvector_gets_the_statement_to_run(
    ogx_postgres: PostgresServer, unprivileged_database: tuple[str, str]
) -> None:
    database, url = unprivileged_database
    provider = PGVectorIO(PGVectorConfig(dsn=SecretStr(url)))
    with pytest.raises(ProviderUnavailable) as refused:
        await provider.start()
    message = refused.value.message
    assert CREATE_EXTENSION in message and database in message
    assert "s3cret-pw" not in message

    ogx_postgres.create_extensions(["vector"], database=database)  # what the administrator does
    await provider.start()
    try:
        await provider.create_index("vs_app", 4)
        await provider.insert("vs_app", corpus_chunks())
        hits = await provider.query("vs_app", VectorQuery(embedding=[1, 0, 0, 0], k=1))
        assert ids(hits) == ["c-apple"]
    finally:
        await provider.close()


async def test_an_unreachable_server_fails_at_start_without_leaking_the_password() -> None:
    config = PGVectorConfig(host="127.0.0.1", port=1, password=SecretStr("s3cret-pw"), connect_timeout=2)
    with pytest.raises(ProviderUnavailable) as refused:
        await PGVectorIO(config).start()
    assert "127.0.0.1:1" in refused.value.message and "s3cret-pw" not in refused.value.message
