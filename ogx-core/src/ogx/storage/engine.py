"""The database engine. SQLite runs in WAL mode with a busy timeout so several workers can
share one file; PostgreSQL is reached through asyncpg."""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ogx_api.paths import default_data_dir

SQLITE_BUSY_TIMEOUT_MS = 10_000


def resolve_storage_url(url: str | None, name: str, environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy async URL for a run config: its `storage.url`, or an SQLite file under
    the data directory (one folder per config name)."""
    if url is None:
        folder = default_data_dir(environ) / name
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{folder / 'ogx.db'}"
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        database = parsed.database
        if database and database != ":memory:":
            database = str(Path(database).expanduser())
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+aiosqlite", database=database).render_as_string(
            hide_password=False
        )
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return url


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An engine whose errors never show the statement's parameters: they are user content, and
    logged errors must not carry it."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
        )
        _configure_sqlite(engine)
        return _SQLiteEngine(engine.sync_engine)
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True
    )


class _SQLiteEngine(AsyncEngine):
    """`begin()` takes SQLite's write lock up front (`BEGIN IMMEDIATE`). A deferred transaction
    that reads before it writes fails at once with "database is locked" when another connection
    wrote in between (WAL cannot upgrade a stale read snapshot, and the busy timeout does not
    apply); an immediate one queues on the busy timeout instead. `connect()` reads stay deferred."""

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with conn.begin():
                yield conn


def _switch_to_wal(cursor: Any) -> None:
    """Switching a new database to WAL needs a moment alone with it, and SQLite reports "locked"
    at once (no busy wait) when another process is opening it too: retry, bounded."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers that read first (migrations) ask for IMMEDIATE so concurrent workers queue on the
        # busy timeout instead of failing with a stale snapshot.
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))


def lock_key(name: str) -> int:
    """The PostgreSQL advisory-lock key that `serialized_transaction(engine, name)` takes."""
    return zlib.crc32(name.encode())


@asynccontextmanager
async def serialized_transaction(engine: AsyncEngine, name: str) -> AsyncIterator[AsyncConnection]:
    """A write transaction that concurrent workers and replicas run one at a time: SQLite's
    `BEGIN IMMEDIATE` takes the write lock up front (no stale-snapshot failures for read-then-write),
    PostgreSQL takes a transaction-scoped advisory lock named by `name`."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        async with conn.begin():
            if engine.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
            yield conn
