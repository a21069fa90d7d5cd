"""Storage on a real PostgreSQL (the `ogx_postgres` fixtures of `ogx_api.testing`): the asyncpg
engine, versioned migrations under the advisory lock (several engines or processes at once), and
the server's persisted models and stored chat completions."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ogx.routing.models import ModelRegistry
from ogx.storage import create_engine, migrate, resolve_storage_url
from ogx.storage.engine import lock_key
from ogx.storage.migrations import MIGRATIONS, Migration
from ogx_api.testing.fakes import FakeInferenceConfig, FakeInferenceProvider

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

ALL_VERSIONS = [m.version for m in MIGRATIONS]


def asyncpg_url(url: str) -> str:
    return resolve_storage_url(url, "test", {})


async def fetch(url: str, query: str, **params: Any) -> list[Any]:
    engine = create_engine(asyncpg_url(url))
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.text(query), params)).all())
    finally:
        await engine.dispose()


async def applied_versions(url: str) -> list[int]:
    return [row.version for row in await fetch(url, "SELECT version FROM ogx_schema_versions ORDER BY 1")]


# --- engine and migrations -------------------------------------------------------------------


async def test_postgresql_url_resolves_to_an_asyncpg_engine_that_connects(ogx_postgres_database: str) -> None:
    url = asyncpg_url(ogx_postgres_database)
    assert make_url(url).drivername == "postgresql+asyncpg"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(sa.text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"
    assert version.startswith("18.")


async def test_migrate_applies_every_version_once_and_is_idempotent(ogx_postgres_database: str) -> None:
    engine = create_engine(asyncpg_url(ogx_postgres_database))
    try:
        assert await migrate(engine) == ALL_VERSIONS
        assert await migrate(engine) == []
    finally:
        await engine.dispose()
    assert await applied_versions(ogx_postgres_database) == ALL_VERSIONS


async def test_schema_has_owner_columns_and_nanosecond_timestamps(ogx_postgres_database: str) -> None:
    engine = create_engine(asyncpg_url(ogx_postgres_database))
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {
                    table: {col["name"]: col for col in sa.inspect(c).get_columns(table)}
                    for table in ("models", "chat_completions")
                }
            )
    finally:
        await engine.dispose()
    assert columns["models"]["owner"]["nullable"] and columns["chat_completions"]["owner"]["nullable"]
    # time.time_ns() does not fit a 4-byte integer.
    assert isinstance(columns["chat_completions"]["created_at"]["type"], sa.BigInteger)


async def test_a_failing_migration_leaves_nothing_behind(ogx_postgres_database: str) -> None:
    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("migration bug")

    engine = create_engine(asyncpg_url(ogx_postgres_database))
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            await migrate(engine, (*MIGRATIONS, Migration(ALL_VERSIONS[-1] + 1, "broken", broken)))
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert tables == [], "PostgreSQL rolls back the DDL of the whole migration transaction"
        assert await migrate(engine) == ALL_VERSIONS
    finally:
        await engine.dispose()


async def test_migrate_waits_for_the_advisory_lock(ogx_postgres_database: str) -> None:
    holder = create_engine(asyncpg_url(ogx_postgres_database))
    migrator = create_engine(asyncpg_url(ogx_postgres_database))
    try:
        async with holder.connect() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": lock_key("ogx-migrations")})
            migration = asyncio.create_task(migrate(migrator))
            await asyncio.sleep(0.5)
            assert not migration.done(), "another migrator holds the lock: this one must wait"
            await conn.execute(
                sa.text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key("ogx-migrations")}
            )
            assert await asyncio.wait_for(migration, timeout=30) == ALL_VERSIONS
    finally:
        await holder.dispose()
        await migrator.dispose()


async def test_concurrent_migrators_apply_each_version_once(ogx_postgres_database: str) -> None:
    engines = [create_engine(asyncpg_url(ogx_postgres_database)) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(results) == [[], [], [], ALL_VERSIONS]
    assert await applied_versions(ogx_postgres_database) == ALL_VERSIONS


_MIGRATOR = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from ogx.storage import create_engine, migrate

    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

    async def main():
        engine = create_engine(url)
        async with engine.connect():  # connected before the start signal, so both race on the lock
            pass
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


async def test_concurrent_migrator_processes_apply_each_version_once(
    ogx_postgres_database: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{index}" for index in range(2)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _MIGRATOR,
            asyncpg_url(ogx_postgres_database),
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
            for p in processes:
                if p.returncode is not None:
                    _, stderr = await p.communicate()
                    pytest.fail(f"a migrator process exited early: {stderr.decode()[-2000:]}")
            assert time.monotonic() < deadline, "migrator processes did not start"
            await asyncio.sleep(0.01)
        go.touch()  # both are connected and waiting: release them together
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), timeout=60)
    finally:
        for p in processes:
            if p.returncode is None:
                p.kill()
                await p.wait()
    for p, (_, stderr) in zip(processes, results, strict=True):
        assert p.returncode == 0, stderr.decode()
    assert sorted(stdout.decode().strip() for stdout, _ in results) == [str(ALL_VERSIONS), "[]"]
    assert await applied_versions(ogx_postgres_database) == ALL_VERSIONS


# --- the server on PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def on_postgres(ogx_postgres_database: str, fake_inference):
    """`on_postgres(**fake_provider_config)`: a run-config tree with the fake provider and
    storage in this test's PostgreSQL database (for the `serve` fixture)."""

    def tree(**config: Any) -> dict[str, Any]:
        return {**fake_inference(**config), "storage": {"url": ogx_postgres_database}}

    return tree


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "fake/fake-llm", "messages": [{"role": "user", "content": text}], **extra}


async def test_discovered_models_are_persisted_in_postgresql(
    serve, on_postgres, ogx_postgres_database: str
) -> None:
    async with serve(on_postgres()) as (client, _):
        assert len((await client.get("/v1/models")).json()["data"]) == 2
    rows = await fetch(ogx_postgres_database, "SELECT id, source, owner FROM models ORDER BY id")
    async with serve(on_postgres(fail_list_models=True)) as (client, _):
        ids = {m["id"] for m in (await client.get("/v1/models")).json()["data"]}
        routed = await client.post("/v1/chat/completions", json=chat("x"))
    assert [tuple(row) for row in rows] == [
        ("fake/fake-embed", "provider", None),
        ("fake/fake-llm", "provider", None),
    ]
    assert ids == {"fake/fake-llm", "fake/fake-embed"}, "the provider is down: the persisted list answers"
    assert routed.status_code == 200


async def test_stored_chat_completions_round_trip_and_survive_a_restart(
    serve, on_postgres, ogx_postgres_database: str
) -> None:
    body = {
        "model": "fake/fake-llm",
        "store": True,
        "metadata": {"team": "a"},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    }
    async with serve(on_postgres()) as (client, _):
        stored = (await client.post("/v1/chat/completions", json=body)).json()
        await client.post("/v1/chat/completions", json=chat("forget"))
        listed = (await client.get("/v1/chat/completions")).json()
    created_at = await fetch(ogx_postgres_database, "SELECT created_at FROM chat_completions")
    async with serve(on_postgres()) as (client, _):
        one = (await client.get(f"/v1/chat/completions/{stored['id']}")).json()
        messages = (await client.get(f"/v1/chat/completions/{stored['id']}/messages")).json()
        updated = (
            await client.post(f"/v1/chat/completions/{stored['id']}", json={"metadata": {"team": "b"}})
        ).json()
        by_new_team = (await client.get("/v1/chat/completions", params={"metadata[team]": "b"})).json()
        by_old_team = (await client.get("/v1/chat/completions", params={"metadata[team]": "a"})).json()
        deleted = (await client.delete(f"/v1/chat/completions/{stored['id']}")).json()
        gone = await client.get(f"/v1/chat/completions/{stored['id']}")
    assert [c["id"] for c in listed["data"]] == [stored["id"]]
    assert abs(created_at[0].created_at - time.time_ns()) < 60 * 10**9, "nanoseconds, stored in full"
    assert one["choices"] == stored["choices"] and one["metadata"] == {"team": "a"}
    assert [(m["role"], m["content"]) for m in messages["data"]] == [("system", "be brief"), ("user", "hi")]
    assert updated["metadata"] == {"team": "b"}
    assert [c["id"] for c in by_new_team["data"]] == [stored["id"]] and by_old_team["data"] == []
    assert deleted["deleted"] is True and gone.status_code == 404


async def test_stored_chat_completions_paginate_and_filter_by_model_and_metadata(serve, on_postgres) -> None:
    async with serve(on_postgres(llm_models=["a", "b"])) as (client, _):
        created = []
        for i in range(5):
            body = chat(f"m{i}", store=True, metadata={"team": "x" if i % 2 else "y", "n": str(i)})
            body["model"] = "fake/a" if i < 3 else "fake/b"
            created.append((await client.post("/v1/chat/completions", json=body)).json()["id"])
        first = (await client.get("/v1/chat/completions", params={"limit": 2})).json()
        second = (
            await client.get("/v1/chat/completions", params={"limit": 2, "after": first["last_id"]})
        ).json()
        last = (
            await client.get("/v1/chat/completions", params={"limit": 2, "after": second["last_id"]})
        ).json()
        newest_first = (
            await client.get("/v1/chat/completions", params={"order": "desc", "after": created[3]})
        ).json()
        only_b = (await client.get("/v1/chat/completions", params={"model": "fake/b"})).json()
        team_x = (await client.get("/v1/chat/completions", params={"metadata[team]": "x"})).json()
        team_x_n3 = (
            await client.get("/v1/chat/completions", params={"metadata[team]": "x", "metadata[n]": "3"})
        ).json()
        unknown_key = (await client.get("/v1/chat/completions", params={"metadata[nope]": "x"})).json()
        bad_after = await client.get("/v1/chat/completions", params={"after": "nope"})
    assert [c["id"] for c in first["data"]] == created[:2] and first["has_more"]
    assert [c["id"] for c in second["data"]] == created[2:4] and second["has_more"]
    assert [c["id"] for c in last["data"]] == created[4:] and not last["has_more"]
    assert [c["id"] for c in newest_first["data"]] == created[2::-1]
    assert [c["id"] for c in only_b["data"]] == created[3:]
    assert [c["id"] for c in team_x["data"]] == [created[1], created[3]]
    assert [c["id"] for c in team_x_n3["data"]] == [created[3]]
    assert unknown_key["data"] == []
    assert bad_after.status_code == 404 and bad_after.json()["error"]["param"] == "after"


# --- bugs PostgreSQL exposed (fixed) ---


async def test_replicas_refreshing_together_all_persist_the_model_registry(
    ogx_postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Replicas refresh at the same moments: at start-up and then every refresh interval.
    caplog.set_level(logging.WARNING, logger="ogx.routing.models")
    engines = [create_engine(asyncpg_url(ogx_postgres_database)) for _ in range(4)]
    try:
        await migrate(engines[0])
        replicas = [
            ModelRegistry([], {"fake": FakeInferenceProvider(FakeInferenceConfig())}, engine)
            for engine in engines
        ]
        for _ in range(3):
            await asyncio.gather(*(replica.refresh() for replica in replicas))
    finally:
        for engine in engines:
            await engine.dispose()
    rows = await fetch(ogx_postgres_database, "SELECT id FROM models ORDER BY id")
    assert [row.id for row in rows] == ["fake/fake-embed", "fake/fake-llm"]
    assert "could not persist" not in caplog.text


async def test_a_nul_in_stored_metadata_does_not_break_metadata_filters(serve, on_postgres) -> None:
    async with serve(on_postgres()) as (client, _):
        created = await client.post(
            "/v1/chat/completions", json=chat("x", store=True, metadata={"k": "a\x00b"})
        )
        filtered = await client.get("/v1/chat/completions", params={"metadata[k]": "z"})
    assert created.status_code == 400 or filtered.status_code == 200
    assert filtered.status_code < 500


@pytest.mark.parametrize(
    "path_and_params",
    [
        ("/v1/chat/completions", {"metadata[k]": "a\x00b"}),
        ("/v1/chat/completions", {"model": "a\x00"}),
        ("/v1/chat/completions", {"after": "x\x00"}),
        ("/v1/chat/completions/ab%00c", {}),
    ],
    ids=["metadata-filter", "model-filter", "after", "completion-id"],
)
async def test_a_nul_in_a_request_parameter_is_a_client_error(
    serve, on_postgres, path_and_params: tuple[str, dict[str, str]]
) -> None:
    path, params = path_and_params
    async with serve(on_postgres()) as (client, _):
        response = await client.get(path, params=params)
    assert response.status_code < 500
