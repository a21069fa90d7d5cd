"""Deleting a file through the Files API removes it from every vector store it is attached to
(OpenAI's `deleteFile`: "Delete a file and remove it from all vector stores"): its chunks leave
the index, its attachments leave the store's file list, counts and usage, and an ingestion still
running for it does not put them back. In-process with the `openai` SDK over the fake inference
provider, with the in-memory reference index, `inline::faiss` and `remote::pgvector`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
import sqlalchemy as sa
from openai import AsyncOpenAI

from ogx.plugins import PluginInfo
from ogx.storage import tables

MANUAL = b"The espresso machine needs descaling every month with citric acid."
GUIDE = b"# Fruit guide\n\nBananas are yellow and rich in potassium."
POLL_MS = 20


def config(
    provider: str, tmp_path: Path, storage_url: str | None = None, **fake_index: Any
) -> dict[str, Any]:
    """The fake inference provider (8-dimensional embeddings) and one vector_io provider;
    `fake_index` configures the in-memory one (`insert_delay`, …)."""
    vector_io = {
        "memory": {"provider_type": "inline::fake-vector-io", "config": fake_index},
        "faiss": {"provider_type": "inline::faiss", "config": {"storage_dir": str(tmp_path / "faiss")}},
        "pgvector": {"provider_type": "remote::pgvector", "config": {"dsn": storage_url}},
    }[provider]
    tree: dict[str, Any] = {
        "providers": {
            "inference": [{"provider_id": "fake", "provider_type": "inline::fake", "config": {}}],
            "vector_io": [{"provider_id": provider, **vector_io}],
        }
    }
    if storage_url is not None:
        tree["storage"] = {"url": storage_url}
    return tree


def plugins_for(provider: str) -> list[tuple[PluginInfo, Any]]:
    if provider == "memory":
        return []
    plugin = pytest.importorskip(f"ogx_{provider}.plugin")
    return [(PluginInfo(name=provider, distribution=f"ogx-{provider}", version="test"), plugin)]


@pytest.fixture
def serve_sdk(serve: Any) -> Any:
    """`async with serve_sdk(tree, *plugins) as (sdk, http, app)`: `serve` with an `openai` client."""

    @asynccontextmanager
    async def start(tree: dict[str, Any], *plugins: Any) -> AsyncIterator[tuple[AsyncOpenAI, Any, Any]]:
        async with serve(tree, *plugins) as (http, app):
            sdk = AsyncOpenAI(api_key="none", base_url="http://ogx.test/v1", http_client=http, max_retries=0)
            yield sdk, http, app

    return start


async def upload(sdk: AsyncOpenAI, name: str, content: bytes, **extra: Any) -> str:
    return (await sdk.files.create(file=(name, content), purpose="assistants", **extra)).id


async def attach(sdk: AsyncOpenAI, store_id: str, file_id: str) -> Any:
    done = await sdk.vector_stores.files.create_and_poll(
        file_id=file_id, vector_store_id=store_id, poll_interval_ms=POLL_MS
    )
    assert done.status == "completed", done.last_error
    return done


async def found(sdk: AsyncOpenAI, store_id: str, query: str, mode: str = "vector") -> list[str]:
    """The file ids a search returns (up to 50 hits, so every chunk of these small stores)."""
    page = await sdk.vector_stores.search(
        store_id, query=query, max_num_results=50, extra_body={"search_mode": mode}
    )
    return [hit.file_id for hit in page.data]


async def listed(sdk: AsyncOpenAI, store_id: str) -> list[str]:
    return [f.id async for f in sdk.vector_stores.files.list(store_id)]


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(10):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)


async def an_insert_started(index: Any, before: int) -> None:
    """Until the fake index has received an insert call after `before` of them."""

    async def inserting() -> bool:
        return index.inserts > before

    await eventually(inserting)


async def stored_chunks(app: Any, file_id: str | None = None) -> int:
    """How many chunks the vector stores keep in storage for the file (or for any file)."""
    chunks = tables.vector_store_chunks
    query = sa.select(sa.func.count()).select_from(chunks)
    if file_id is not None:
        query = query.where(chunks.c.file_id == file_id)
    async with app.state.ogx.vector_stores.engine.connect() as conn:
        return await conn.scalar(query)


PROVIDERS = [
    "memory",
    "faiss",
    pytest.param("pgvector", marks=pytest.mark.integration, id="pgvector-on-postgresql"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_deleted_file_leaves_every_store(
    serve_sdk: Any, tmp_path: Path, provider: str, request: pytest.FixtureRequest
) -> None:
    storage_url = request.getfixturevalue("ogx_postgres_database") if provider == "pgvector" else None
    async with serve_sdk(config(provider, tmp_path, storage_url), *plugins_for(provider)) as (sdk, _, app):
        manual = await upload(sdk, "manual.txt", MANUAL)
        guide = await upload(sdk, "guide.md", GUIDE)
        both = await sdk.vector_stores.create(name="both")
        await attach(sdk, both.id, manual)
        kept = await attach(sdk, both.id, guide)
        only = await sdk.vector_stores.create(name="only the manual")
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=only.id, file_ids=[manual], poll_interval_ms=POLL_MS
        )
        assert batch.file_counts.completed == 1
        for store in (both, only):
            assert manual in await found(sdk, store.id, "descaling", "keyword")

        deleted = await sdk.files.delete(manual)
        assert deleted.deleted is True and deleted.id == manual

        for store in (both, only):
            for mode in ("vector", "keyword", "hybrid"):
                assert manual not in await found(sdk, store.id, MANUAL.decode(), mode), (store.name, mode)
        assert await found(sdk, both.id, "potassium", "keyword") == [guide]
        assert await listed(sdk, both.id) == [guide] and await listed(sdk, only.id) == []
        both_now = await sdk.vector_stores.retrieve(both.id)
        only_now = await sdk.vector_stores.retrieve(only.id)
        assert (both_now.file_counts.total, both_now.file_counts.completed) == (1, 1)
        assert both_now.usage_bytes == kept.usage_bytes
        assert (only_now.file_counts.total, only_now.usage_bytes) == (0, 0)
        batch_now = await sdk.vector_stores.file_batches.retrieve(batch.id, vector_store_id=only.id)
        assert batch_now.file_counts.total == 0
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.files.retrieve(manual, vector_store_id=both.id)
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.files.content(manual, vector_store_id=only.id)
        with pytest.raises(openai.NotFoundError):
            await sdk.files.delete(manual)
        assert await stored_chunks(app, manual) == 0


async def test_an_ingestion_still_indexing_the_file_does_not_bring_it_back(
    serve_sdk: Any, tmp_path: Path
) -> None:
    """The file is deleted while its ingestion is inside the index's insert: the insert lands
    after the delete, the job sees its attachment gone, takes the chunks out and ends."""
    async with serve_sdk(config("memory", tmp_path, insert_delay=0.3)) as (sdk, _, app):
        index = app.state.ogx.vector_stores.providers["memory"]
        store = await sdk.vector_stores.create(name="kb")
        file_id = await upload(sdk, "manual.txt", MANUAL)
        before = index.inserts
        await sdk.vector_stores.files.create(file_id=file_id, vector_store_id=store.id)
        await an_insert_started(index, before)
        finished = index.inserted

        await sdk.files.delete(file_id)

        def indexed() -> bool:
            return any(c.file_id == file_id for c in index.indexes[store.id][1].values())

        async def cleaned_up() -> bool:  # the insert finished, then the job removed what it wrote
            return index.inserted > finished and not indexed() and not await stored_chunks(app, file_id)

        await eventually(cleaned_up)
        await asyncio.sleep(0.1)  # nothing comes back afterwards either
        assert not indexed() and await stored_chunks(app, file_id) == 0
        assert await found(sdk, store.id, MANUAL.decode()) == []
        assert await listed(sdk, store.id) == []
        counts = (await sdk.vector_stores.retrieve(store.id)).file_counts
        assert (counts.total, counts.in_progress) == (0, 0)
        async with app.state.ogx.vector_stores.engine.connect() as conn:
            jobs = (await conn.execute(sa.select(tables.jobs.c.status, tables.jobs.c.attempts))).all()
        assert [tuple(job) for job in jobs] == [("cancelled", 1)]  # ended, not failed or retried


async def test_an_attribute_update_in_flight_does_not_bring_it_back(serve_sdk: Any, tmp_path: Path) -> None:
    """An attribute update re-inserts the file's chunks; the file is deleted while it does."""
    async with serve_sdk(config("memory", tmp_path, insert_delay=0.3)) as (sdk, _, app):
        index = app.state.ogx.vector_stores.providers["memory"]
        store = await sdk.vector_stores.create(name="kb")
        file_id = await upload(sdk, "manual.txt", MANUAL)
        await attach(sdk, store.id, file_id)
        before = index.inserts
        update = asyncio.ensure_future(
            sdk.vector_stores.files.update(file_id, vector_store_id=store.id, attributes={"v": 2})
        )
        await an_insert_started(index, before)
        await sdk.files.delete(file_id)
        with pytest.raises(openai.NotFoundError):  # read back after the delete
            await update
        assert not any(c.file_id == file_id for c in index.indexes[store.id][1].values())
        assert await found(sdk, store.id, MANUAL.decode()) == []


async def test_a_failing_index_leaves_the_file_to_delete_again(serve_sdk: Any, tmp_path: Path) -> None:
    async with serve_sdk(config("memory", tmp_path)) as (sdk, _, app):
        index = app.state.ogx.vector_stores.providers["memory"]
        store = await sdk.vector_stores.create(name="kb")
        file_id = await upload(sdk, "manual.txt", MANUAL)
        await attach(sdk, store.id, file_id)

        index.config.fail_delete = "ProviderUnavailable"
        with pytest.raises(openai.InternalServerError) as failed:
            await sdk.files.delete(file_id)
        assert failed.value.status_code == 503
        assert (await sdk.files.retrieve(file_id)).id == file_id  # nothing was deleted
        assert await listed(sdk, store.id) == [file_id]
        assert await found(sdk, store.id, MANUAL.decode()) == [file_id]

        index.config.fail_delete = None
        assert (await sdk.files.delete(file_id)).deleted is True
        assert await listed(sdk, store.id) == [] and await found(sdk, store.id, MANUAL.decode()) == []


async def test_an_expired_file_leaves_its_stores_when_swept(serve_sdk: Any, tmp_path: Path) -> None:
    async with serve_sdk(config("memory", tmp_path)) as (sdk, _, app):
        store = await sdk.vector_stores.create(name="kb")
        file_id = await upload(
            sdk, "manual.txt", MANUAL, expires_after={"anchor": "created_at", "seconds": 3600}
        )
        await attach(sdk, store.id, file_id)
        files = app.state.ogx.files
        later = time.time_ns() + 2 * 3600 * 10**9
        files.clock = lambda: later
        index = app.state.ogx.vector_stores.providers["memory"]
        index.config.fail_delete = "ProviderUnavailable"  # the index is down: the next sweep retries
        assert await files.sweep_expired() == 0
        assert await listed(sdk, store.id) == [file_id]
        index.config.fail_delete = None
        assert await files.sweep_expired() == 1
        assert await listed(sdk, store.id) == [] and await found(sdk, store.id, MANUAL.decode()) == []


async def test_only_the_owner_deletes_and_only_their_stores_change(
    serve_sdk: Any, tmp_path: Path, principal_from_header: Any
) -> None:
    async with serve_sdk(config("memory", tmp_path)) as (sdk, _, app):
        app.add_middleware(principal_from_header)
        alice = sdk.with_options(default_headers={"x-test-principal": "alice"})
        bob = sdk.with_options(default_headers={"x-test-principal": "bob"})

        async def store_with_manual(client: AsyncOpenAI) -> tuple[str, str]:
            file_id = await upload(client, "manual.txt", MANUAL)
            store = await client.vector_stores.create(name="kb")
            await attach(client, store.id, file_id)
            return file_id, store.id

        alices_file, alices_store = await store_with_manual(alice)
        bobs_file, bobs_store = await store_with_manual(bob)
        with pytest.raises(openai.NotFoundError):
            await bob.files.delete(alices_file)
        assert await found(alice, alices_store, MANUAL.decode()) == [alices_file]

        assert (await alice.files.delete(alices_file)).deleted is True
        assert await found(alice, alices_store, MANUAL.decode()) == []
        assert await found(bob, bobs_store, MANUAL.decode()) == [bobs_file]
        assert await listed(bob, bobs_store) == [bobs_file]


async def test_a_file_deleted_while_being_attached_is_left_out(serve_sdk: Any, tmp_path: Path) -> None:
    """The file passes the attach-time checks, then is deleted before its attachment is written:
    the attachment is refused (one file) or leaves it out (a batch), never lists a deleted file."""
    async with serve_sdk(config("memory", tmp_path)) as (sdk, _, app):
        service = app.state.ogx.vector_stores
        checked_then_deleted = service._check_file

        async def check_then_delete(file_id: str, owner: str | None) -> tuple[str, str]:
            checked = await checked_then_deleted(file_id, owner)
            if file_id in doomed:
                await sdk.files.delete(file_id)
            return checked

        service._check_file = check_then_delete
        store = await sdk.vector_stores.create(name="kb")
        doomed = {await upload(sdk, "a.txt", MANUAL), await upload(sdk, "b.txt", MANUAL)}
        single, in_batch = sorted(doomed)
        survivor = await upload(sdk, "guide.md", GUIDE)
        with pytest.raises(openai.NotFoundError, match=single):
            await sdk.vector_stores.files.create(file_id=single, vector_store_id=store.id)
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[in_batch, survivor], poll_interval_ms=POLL_MS
        )
        assert (batch.status, batch.file_counts.total, batch.file_counts.completed) == ("completed", 1, 1)
        assert await listed(sdk, store.id) == [survivor]
        assert await found(sdk, store.id, MANUAL.decode()) == [survivor]  # the only chunk left


@pytest.mark.parametrize("storage", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_attaching_and_deleting_at_once_never_leaves_a_deleted_file(
    serve_sdk: Any, tmp_path: Path, storage: str, request: pytest.FixtureRequest
) -> None:
    """Whichever wins, the store ends without the file: an attach that lands first is removed
    with the file, one that comes second finds it gone (a 404)."""
    storage_url = request.getfixturevalue("ogx_postgres_database") if storage == "postgresql" else None
    async with serve_sdk(config("memory", tmp_path, storage_url)) as (sdk, _, app):
        store = await sdk.vector_stores.create(name="kb")
        for round_ in range(8):
            file_id = await upload(sdk, f"f{round_}.txt", MANUAL)
            attached, deleted = await asyncio.gather(
                sdk.vector_stores.files.create(file_id=file_id, vector_store_id=store.id),
                sdk.files.delete(file_id),
                return_exceptions=True,
            )
            assert not isinstance(deleted, BaseException), deleted
            assert not isinstance(attached, BaseException) or isinstance(attached, openai.NotFoundError)

        async def settled() -> bool:
            counts = (await sdk.vector_stores.retrieve(store.id)).file_counts
            return counts.total == 0 and not await stored_chunks(app)

        await eventually(settled)
        assert await listed(sdk, store.id) == []
        assert await found(sdk, store.id, MANUAL.decode()) == []
        assert not app.state.ogx.vector_stores.providers["memory"].indexes[store.id][1]
