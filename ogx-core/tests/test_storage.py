"""Storage: where the database lives, the URL drivers, SQLite WAL, and versioned migrations that
several workers (tasks or processes) may run at once on one file."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ogx.storage import create_engine, default_data_dir, migrate, resolve_storage_url
from ogx.storage.migrations import MIGRATIONS

ALL_VERSIONS = [m.version for m in MIGRATIONS]

# --- data directory and URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"OGX_DATA_DIR": "/srv/ogx", "XDG_DATA_HOME": "/xdg"}, Path("/srv/ogx")),
        ({"OGX_DATA_DIR": "", "XDG_DATA_HOME": "/xdg"}, Path("/xdg/ogx")),
        ({"XDG_DATA_HOME": "/xdg"}, Path("/xdg/ogx")),
        ({"XDG_DATA_HOME": ""}, Path.home() / ".local" / "share" / "ogx"),
        ({}, Path.home() / ".local" / "share" / "ogx"),
    ],
)
def test_default_data_dir_precedence(environ: dict[str, str], expected: Path) -> None:
    assert default_data_dir(environ) == expected


def test_data_dir_expands_the_home_directory() -> None:
    assert default_data_dir({"OGX_DATA_DIR": "~/ogx-data"}) == Path.home() / "ogx-data"


def test_default_url_is_a_sqlite_file_per_config_name(tmp_path: Path) -> None:
    url = resolve_storage_url(None, "starter", {"OGX_DATA_DIR": str(tmp_path)})
    assert url == f"sqlite+aiosqlite:///{tmp_path}/starter/ogx.db"
    assert (tmp_path / "starter").is_dir()


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"])
def test_sqlite_url_uses_aiosqlite_and_creates_the_folder(tmp_path: Path, scheme: str) -> None:
    database = tmp_path / "new" / "dir" / "ogx.db"
    url = resolve_storage_url(f"{scheme}:///{database}", "ignored", {})
    assert url == f"sqlite+aiosqlite:///{database}"
    assert database.parent.is_dir()


def test_in_memory_sqlite_url(tmp_path: Path) -> None:
    assert resolve_storage_url("sqlite://", "x", {}) == "sqlite+aiosqlite://"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ogx:p%40ss%2Fw0rd@db.example:5432/ogx",
        "postgres://ogx:p%40ss%2Fw0rd@db.example:5432/ogx",
        "postgresql+psycopg2://ogx:p%40ss%2Fw0rd@db.example:5432/ogx",
        "postgresql+psycopg://ogx:p%40ss%2Fw0rd@db.example:5432/ogx",
    ],
)
def test_postgresql_url_uses_asyncpg_and_keeps_the_credentials(url: str) -> None:
    resolved = make_url(resolve_storage_url(url, "x", {}))
    assert resolved.drivername == "postgresql+asyncpg"
    assert (resolved.username, resolved.password, resolved.host, resolved.port, resolved.database) == (
        "ogx",
        "p@ss/w0rd",
        "db.example",
        5432,
        "ogx",
    )


async def test_sqlite_url_with_a_home_relative_path_opens_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    engine = create_engine(resolve_storage_url("sqlite:///~/ogx/state.db", "x", {}))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "home" / "ogx" / "state.db").is_file()
    assert not (tmp_path / "~").exists()


# --- engine and migrations -------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return resolve_storage_url(f"sqlite:///{path}", "test", {})


async def applied_versions(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT version FROM ogx_schema_versions ORDER BY version"))
            return list(result.scalars())
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "ogx.db"))
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar_one() >= 1000
            assert (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_migrate_applies_every_version_once_and_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "ogx.db"))
    try:
        assert await migrate(engine) == ALL_VERSIONS
        assert await migrate(engine) == []
    finally:
        await engine.dispose()
    assert await applied_versions(sqlite_url(tmp_path / "ogx.db")) == ALL_VERSIONS


async def test_a_restarted_server_does_not_reapply_migrations(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ogx.db")
    for expected in (ALL_VERSIONS, []):
        engine = create_engine(url)
        try:
            assert await migrate(engine) == expected
        finally:
            await engine.dispose()


async def test_models_table_has_an_owner_column(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "ogx.db"))
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"]: col for col in sa.inspect(c).get_columns("models")}
            )
    finally:
        await engine.dispose()
    assert columns["owner"]["nullable"] is True
    assert {
        "id",
        "provider_id",
        "provider_model_id",
        "model_type",
        "metadata",
        "aliases",
        "source",
        "created_at",
    } <= set(columns)


async def test_migrations_are_numbered_uniquely_from_1() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


async def test_failing_migration_leaves_nothing_recorded(tmp_path: Path) -> None:
    from ogx.storage.migrations import Migration

    def broken(conn) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("migration bug")

    url = sqlite_url(tmp_path / "ogx.db")
    engine = create_engine(url)
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            await migrate(engine, (*MIGRATIONS, Migration(ALL_VERSIONS[-1] + 1, "broken", broken)))
        assert await migrate(engine) == ALL_VERSIONS  # the whole transaction was rolled back
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert "half_done" not in tables


async def test_concurrent_migrators_on_one_file_apply_each_version_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ogx.db")
    engines = [create_engine(url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(results) == [[], [], [], ALL_VERSIONS]
    assert await applied_versions(url) == ALL_VERSIONS


_MIGRATOR = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from ogx.storage import create_engine, migrate

    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    async def main():
        engine = create_engine(url)
        ready.touch()
        deadline = time.monotonic() + 30
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            await asyncio.sleep(0.005)
        try:
            print(await migrate(engine))
        finally:
            await engine.dispose()

    asyncio.run(main())
    """
)


async def test_concurrent_migrators_in_separate_processes_apply_each_version_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ogx.db")
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{index}" for index in range(2)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _MIGRATOR,
            url,
            str(ready),
            str(go),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for ready in readies
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for ready in readies):
            assert all(p.returncode is None for p in processes), "a migrator process exited early"
            assert time.monotonic() < deadline, "migrator processes did not start"
            await asyncio.sleep(0.01)
        go.touch()  # both are waiting: release them together
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), timeout=60)
    finally:
        for p in processes:
            if p.returncode is None:
                p.kill()
                await p.wait()
    for p, (_, stderr) in zip(processes, results, strict=True):
        assert p.returncode == 0, stderr.decode()
    assert sorted(stdout.decode().strip() for stdout, _ in results) == [str(ALL_VERSIONS), "[]"]
    assert await applied_versions(url) == ALL_VERSIONS


async def test_a_files_attachments_are_found_through_an_index(tmp_path: Path) -> None:
    """Deleting a file reads its attachments by file id: an index search, not a scan."""
    engine = create_engine(sqlite_url(tmp_path / "ogx.db"))
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            plan = (
                await conn.execute(
                    sa.text(
                        "EXPLAIN QUERY PLAN SELECT vector_store_id FROM vector_store_files WHERE id = 'file-1'"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert any("USING INDEX ix_vector_store_files_file" in str(row) for row in plan), plan
