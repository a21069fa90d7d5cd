"""The vector stores service: stores, their files and file batches (rows with their owner in the
core's storage), each store's index in a `vector_io` provider, ingestion submitted as jobs
(`ingest.py`) and search (`search.py`)."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.file_processing import InvalidFile, file_kind, resolved
from ogx.files import FileInfo, FilesService
from ogx.jobs import JobQueue
from ogx.routing.inference import InferenceRouter
from ogx.storage.pagination import Order, page
from ogx.vector_stores import rows
from ogx.vector_stores.embedding import embed
from ogx.vector_stores.models import (
    CreateVectorStoreFileBatchRequest,
    CreateVectorStoreFileRequest,
    CreateVectorStoreRequest,
    ExpiresAfter,
    UpdateVectorStoreRequest,
)
from ogx_api import InvalidRequest, NotFound, OGXError
from ogx_api.inference import ModelType
from ogx_api.vector_io import Chunk, VectorIOProvider

logger = logging.getLogger(__name__)

INGEST_JOB = "vector_store_file.ingest"
DAY = 86_400
_ORPHAN_AGE_NS = 60 * rows.NS  # an in_progress file without a job this old lost it to a crash


class VectorStoresService:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        files: FilesService,
        inference: InferenceRouter,
        providers: Mapping[str, VectorIOProvider],
        jobs: JobQueue,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`providers` maps vector_io provider ids to providers (the first is the default);
        `clock` gives the time in nanoseconds."""
        self._engine = engine
        self.files = files
        self.inference = inference
        self.providers = dict(providers)
        self.jobs = jobs
        self.clock = clock
        files.add_dependent(self)  # deleting a file removes it from every store (OpenAI's deleteFile)

    async def start(self) -> None:
        from ogx.vector_stores.ingest import Ingestion

        ingestion = Ingestion(self)
        self.jobs.register(INGEST_JOB, ingestion.run, on_failed=ingestion.failed)
        await self._resubmit_orphans()

    # -- stores -------------------------------------------------------------------------------

    async def create(self, request: CreateVectorStoreRequest, *, owner: str | None) -> dict[str, Any]:
        provider_id = self._provider_id(request.provider_id)
        model, dimension = await self._embedding_model(request.embedding_model, request.embedding_dimension)
        attach = [
            CreateVectorStoreFileRequest(file_id=file_id, chunking_strategy=request.chunking_strategy)
            for file_id in dict.fromkeys(request.file_ids)
        ]
        checked = [await self._check_file(entry.file_id, owner) for entry in attach]
        now_ns = self.clock()
        store_id = f"vs_{secrets.token_hex(12)}"
        await self.providers[provider_id].create_index(store_id, dimension)
        async with rows.write(self._engine) as conn:
            await conn.execute(
                rows.stores.insert().values(
                    id=store_id,
                    owner=owner,
                    created_at=now_ns,
                    name=request.name or "",
                    description=request.description,
                    metadata=request.metadata or {},
                    provider_id=provider_id,
                    embedding_model=model,
                    embedding_dimension=dimension,
                    **_expiry(request.expires_after, now_ns // rows.NS),
                )
            )
        await self._attach_all(store_id, attach, checked, owner=owner, batch_id=None)
        return await self.get(store_id, owner)

    async def get(self, store_id: str, owner: str | None) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = await self._store_row(conn, store_id, owner)
            counts, usage = (await rows.counts_by(conn, rows.files.c.vector_store_id, [store_id]))[store_id]
        return rows.store_object(row, counts, usage, self._now())

    async def list(
        self, *, owner: str | None, after: str | None, before: str | None, limit: int, order: Order
    ) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            listed = await page(
                conn,
                rows.stores,
                where=[rows.stores.c.owner.is_not_distinct_from(owner)],
                after=after,
                before=before,
                limit=limit,
                order=order,
                render=lambda row: row._asdict(),
            )
            ids = [r["id"] for r in listed["data"]]
            counts = await rows.counts_by(conn, rows.files.c.vector_store_id, ids)
        now = self._now()
        listed["data"] = [rows.store_object(_Row(r), *counts[r["id"]], now) for r in listed["data"]]
        return listed

    async def update(
        self, store_id: str, request: UpdateVectorStoreRequest, *, owner: str | None
    ) -> dict[str, Any]:
        given = request.model_fields_set
        async with rows.write(self._engine) as conn:
            row = await self._store_row(conn, store_id, owner)
            values: dict[str, Any] = {"last_active_at": self._now()}
            if "name" in given and request.name is not None:
                values["name"] = request.name
            if "metadata" in given:
                values["metadata"] = request.metadata or {}
            expires_after = (
                request.expires_after
                if "expires_after" in given
                else (ExpiresAfter.model_validate(row.expires_after) if row.expires_after else None)
            )
            values.update(_expiry(expires_after, values["last_active_at"]))
            await conn.execute(rows.stores.update().where(rows.stores.c.id == store_id).values(**values))
        return await self.get(store_id, owner)

    async def delete(self, store_id: str, owner: str | None) -> dict[str, Any]:
        """The index first: if the provider fails, the store is still there to delete again."""
        store = await self.store(store_id, owner)
        provider = self.providers.get(store.provider_id)
        if provider is not None:
            await provider.delete_index(store_id)
        async with rows.write(self._engine) as conn:
            job_ids = await self._in_progress_jobs(conn, rows.files.c.vector_store_id == store_id)
            for table in (rows.files, rows.chunks):
                await conn.execute(table.delete().where(table.c.vector_store_id == store_id))
            await conn.execute(rows.batches.delete().where(rows.batches.c.vector_store_id == store_id))
            await conn.execute(rows.stores.delete().where(rows.stores.c.id == store_id))
        await self._cancel_jobs(job_ids)
        return {"id": store_id, "object": "vector_store.deleted", "deleted": True}

    # -- files --------------------------------------------------------------------------------

    async def attach(
        self, store_id: str, request: CreateVectorStoreFileRequest, *, owner: str | None
    ) -> dict[str, Any]:
        await self.store(store_id, owner)
        checked = await self._check_file(request.file_id, owner)
        if not await self._attach_all(store_id, [request], [checked], owner=owner, batch_id=None):
            raise NotFound(f"file {request.file_id!r} not found", param="file_id")  # deleted meanwhile
        return await self.get_file(store_id, request.file_id, owner)

    async def get_file(self, store_id: str, file_id: str, owner: str | None) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            return rows.file_object(await self._file_row(conn, store_id, file_id, owner))

    async def list_files(
        self,
        store_id: str,
        *,
        owner: str | None,
        after: str | None,
        before: str | None,
        limit: int,
        order: Order,
        status: str | None,
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        where = [rows.files.c.vector_store_id == store_id, rows.files.c.owner.is_not_distinct_from(owner)]
        if status is not None:
            if status not in rows.FILE_STATUSES:
                raise InvalidRequest(
                    f"unknown file status {status!r}; one of: {', '.join(rows.FILE_STATUSES)}", param="filter"
                )
            where.append(rows.files.c.status == status)
        async with self._engine.connect() as conn:
            if batch_id is None:
                await self._store_row(conn, store_id, owner)
            else:
                await self._batch_row(conn, store_id, batch_id, owner)
                where.append(rows.files.c.batch_id == batch_id)
            return await page(
                conn,
                rows.files,
                where=where,
                after=after,
                before=before,
                limit=limit,
                order=order,
                render=rows.file_object,
            )

    async def update_file(
        self, store_id: str, file_id: str, attributes: dict[str, Any] | None, *, owner: str | None
    ) -> dict[str, Any]:
        """New attributes, re-applied to the file's indexed chunks (from the stored chunks, so
        nothing is embedded again)."""
        attributes = attributes or {}
        async with rows.write(self._engine) as conn:
            await self._file_row(conn, store_id, file_id, owner)
            await conn.execute(
                rows.files.update()
                .where(rows.files.c.vector_store_id == store_id, rows.files.c.id == file_id)
                .values(attributes=attributes)
            )
            stored = (
                await conn.execute(
                    sa.select(rows.chunks)
                    .where(rows.chunks.c.vector_store_id == store_id, rows.chunks.c.file_id == file_id)
                    .order_by(rows.chunks.c.position)
                )
            ).all()
        if stored:
            provider = self.provider(await self.store(store_id, owner))
            await provider.insert(store_id, [stored_chunk(row, attributes) for row in stored])
            if not await self._attached(store_id, file_id):  # detached (or its file deleted) meanwhile
                await provider.delete_file(store_id, file_id)
        await self.touch(store_id)
        return await self.get_file(store_id, file_id, owner)

    async def delete_file(self, store_id: str, file_id: str, owner: str | None) -> dict[str, Any]:
        """The chunks leave the index first: if the provider fails, the file is still listed (and
        can be deleted again), never gone from the store yet still found by search."""
        async with self._engine.connect() as conn:
            await self._file_row(conn, store_id, file_id, owner)
        store = await self.store(store_id, owner)
        await self.provider(store).delete_file(store_id, file_id)
        async with rows.write(self._engine) as conn:
            scope = sa.and_(rows.files.c.vector_store_id == store_id, rows.files.c.id == file_id)
            detached = await self._detach_rows(conn, file_id, scope)
        await self._after_detach(file_id, detached)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    async def file_content(self, store_id: str, file_id: str, owner: str | None) -> dict[str, Any]:
        """The file's parsed text, chunk by chunk, in order."""
        async with self._engine.connect() as conn:
            await self._file_row(conn, store_id, file_id, owner)
            texts = (
                await conn.execute(
                    sa.select(rows.chunks.c.content)
                    .where(rows.chunks.c.vector_store_id == store_id, rows.chunks.c.file_id == file_id)
                    .order_by(rows.chunks.c.position)
                )
            ).scalars()
            data = [{"type": "text", "text": text} for text in texts]
        return {
            "object": "vector_store.file_content.page",
            "data": data,
            "has_more": False,
            "next_page": None,
        }

    # -- file batches -------------------------------------------------------------------------

    async def create_batch(
        self, store_id: str, request: CreateVectorStoreFileBatchRequest, *, owner: str | None
    ) -> dict[str, Any]:
        await self.store(store_id, owner)
        entries = list({e.file_id: e for e in request.entries()}.values())
        checked = [await self._check_file(entry.file_id, owner) for entry in entries]
        batch_id = f"vsfb_{secrets.token_hex(12)}"
        async with rows.write(self._engine) as conn:
            await conn.execute(
                rows.batches.insert().values(
                    id=batch_id,
                    vector_store_id=store_id,
                    owner=owner,
                    created_at=self.clock(),
                    cancelled=False,
                )
            )
        await self._attach_all(store_id, entries, checked, owner=owner, batch_id=batch_id)
        return await self.get_batch(store_id, batch_id, owner)

    async def get_batch(self, store_id: str, batch_id: str, owner: str | None) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = await self._batch_row(conn, store_id, batch_id, owner)
            counts, _ = (await rows.counts_by(conn, rows.files.c.batch_id, [batch_id]))[batch_id]
        return rows.batch_object(row, counts)

    async def cancel_batch(self, store_id: str, batch_id: str, owner: str | None) -> dict[str, Any]:
        """Files of the batch still in progress end `cancelled` (their jobs are cancelled and
        whatever they had indexed is removed); finished ones stay as they are."""
        scope = sa.and_(rows.files.c.batch_id == batch_id, rows.files.c.status == "in_progress")
        async with rows.write(self._engine) as conn:
            await self._batch_row(conn, store_id, batch_id, owner)
            job_ids = await self._in_progress_jobs(conn, scope)
            file_ids = list((await conn.execute(sa.select(rows.files.c.id).where(scope))).scalars())
            await conn.execute(rows.files.update().where(scope).values(status="cancelled"))
            await conn.execute(
                rows.batches.update().where(rows.batches.c.id == batch_id).values(cancelled=True)
            )
        await self._cancel_jobs(job_ids)
        store = await self.store(store_id, owner)
        for file_id in file_ids:
            await self.providers[store.provider_id].delete_file(store_id, file_id)
        return await self.get_batch(store_id, batch_id, owner)

    # -- a file deleted through the Files API (`FileDependent`, called by FilesService) -------

    async def before_file_delete(self, file: FileInfo) -> None:
        """Its chunks leave every index holding them; a failing provider stops the delete."""
        async with self._engine.connect() as conn:
            stores = (await conn.execute(_stores_where(_in_owners_stores(file)))).all()
        for store in stores:
            provider = self.providers.get(store.provider_id)
            if provider is None:
                logger.warning(
                    "vector store %s: vector_io provider %r is not configured; chunks of deleted file %s "
                    "are left in its index",
                    store.id,
                    store.provider_id,
                    file.id,
                )
            else:
                await provider.delete_file(store.id, file.id)

    async def delete_file_rows(self, conn: AsyncConnection, file: FileInfo) -> _Detached:
        return await self._detach_rows(conn, file.id, _in_owners_stores(file))

    async def after_file_delete(self, file: FileInfo, state: _Detached) -> None:
        await self._after_detach(file.id, state)

    # -- search -------------------------------------------------------------------------------

    async def search(
        self,
        vector_store_id: str,
        *,
        query: str | list[str],
        filters: Any = None,
        max_num_results: int = 10,
        ranking_options: Any = None,
        search_mode: str | None = None,
        owner: str | None,
        rewrite_query: bool = False,
        hybrid_ranker: Any = None,
    ) -> dict[str, Any]:
        """OpenAI's `vector_store.search_results.page` for `query` (also what `file_search`
        calls). `filters` and `ranking_options` may be models or their JSON dicts."""
        from ogx.vector_stores.search import search

        return await search(
            self,
            vector_store_id,
            query=query,
            filters=filters,
            max_num_results=max_num_results,
            ranking_options=ranking_options,
            search_mode=search_mode,
            rewrite_query=rewrite_query,
            hybrid_ranker=hybrid_ranker,
            owner=owner,
        )

    # -- used by ingestion, search and the native endpoints ------------------------------------

    async def store(self, store_id: str, owner: str | None) -> Any:
        async with self._engine.connect() as conn:
            return await self._store_row(conn, store_id, owner)

    def provider(self, store: Any) -> VectorIOProvider:
        provider = self.providers.get(store.provider_id)
        if provider is None:
            raise InvalidRequest(
                f"vector store {store.id!r} is held by vector_io provider {store.provider_id!r}, "
                "which is not configured",
                param="vector_store_id",
            )
        return provider

    async def touch(self, store_id: str, *, known_last_active_at: int | None = None) -> None:
        """Record activity: `last_active_at` is now, and an `expires_after` moves `expires_at`.
        A caller holding the store's row passes its `last_active_at`: within the same second
        there is nothing to write (so searches don't take the write lock each time)."""
        now = self._now()
        if known_last_active_at == now:
            return
        async with rows.write(self._engine) as conn:
            row = (
                await conn.execute(sa.select(rows.stores.c.expires_after).where(rows.stores.c.id == store_id))
            ).first()
            if row is None:
                return
            values: dict[str, Any] = {"last_active_at": now}
            if row.expires_after:
                values["expires_at"] = now + row.expires_after["days"] * DAY
            await conn.execute(rows.stores.update().where(rows.stores.c.id == store_id).values(**values))

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # -- internals ----------------------------------------------------------------------------

    def _now(self) -> int:
        return self.clock() // rows.NS

    def _provider_id(self, requested: str | None) -> str:
        if not self.providers:
            raise InvalidRequest(
                "no vector_io provider is configured: add one under `providers.vector_io` in the run "
                "config (e.g. provider_type inline::faiss)",
                param="provider_id",
                code="no_vector_io_provider",
            )
        if requested is None:
            return next(iter(self.providers))
        if requested not in self.providers:
            raise InvalidRequest(
                f"unknown vector_io provider {requested!r}; configured: {', '.join(self.providers)}",
                param="provider_id",
            )
        return requested

    async def _embedding_model(self, requested: str | None, dimension: int | None) -> tuple[str, int]:
        registry = self.inference.registry
        if requested is None:
            first = next((e for e in registry.list() if e.model_type is ModelType.embedding), None)
            if first is None:
                raise InvalidRequest(
                    "no embedding model is served: configure one, or name one in embedding_model",
                    param="embedding_model",
                )
            requested = first.id
        try:
            entry = registry.resolve(requested, ModelType.embedding)
        except (NotFound, InvalidRequest) as exc:
            raise InvalidRequest(exc.message, param="embedding_model", code=exc.code) from None
        known = entry.metadata.get("embedding_dimension")
        actual = (
            int(known) if known else len((await embed(self.inference, requested, ["dimension probe"]))[0])
        )
        if dimension is not None and dimension != actual:
            raise InvalidRequest(
                f"embedding_dimension {dimension} does not match model {requested!r}, whose vectors "
                f"have {actual} dimensions",
                param="embedding_dimension",
                code="embedding_dimension_mismatch",
            )
        return requested, actual

    async def _check_file(self, file_id: str, owner: str | None) -> tuple[str, str]:
        """What can be known at attach time: the file exists, has a supported type and is not
        empty. Returns its filename and content type."""
        info = await self.files.info(file_id, owner)
        file_kind(info.filename, info.content_type)
        if info.bytes == 0:
            raise InvalidFile(f"file {file_id!r} ({info.filename!r}) is empty")
        return info.filename, info.content_type

    async def _attach_all(
        self,
        store_id: str,
        entries: Sequence[CreateVectorStoreFileRequest],
        checked: Sequence[tuple[str, str]],
        *,
        owner: str | None,
        batch_id: str | None,
    ) -> list[str]:
        """Rows first (in one transaction, replacing earlier attachments of the same files),
        then a job per file; a crash between the two is repaired at start-up. A file deleted
        since it was checked is left out (as if deleted just after); returns the files attached."""
        if not entries:
            return []
        now_ns = self.clock()
        job_ids = []
        async with rows.write(self._engine) as conn:
            present = await self.files.hold(conn, [e.file_id for e in entries], owner)
            kept = [(e, c) for e, c in zip(entries, checked, strict=True) if e.file_id in present]
            if not kept:
                return []
            ids = [e.file_id for e, _ in kept]
            scope = sa.and_(rows.files.c.vector_store_id == store_id, rows.files.c.id.in_(ids))
            job_ids = await self._in_progress_jobs(conn, scope)
            await conn.execute(rows.files.delete().where(scope))
            await conn.execute(
                rows.files.insert(),
                [
                    {
                        "vector_store_id": store_id,
                        "id": entry.file_id,
                        "owner": owner,
                        "created_at": now_ns + position,
                        "filename": filename,
                        "status": "in_progress",
                        "last_error": None,
                        "attributes": entry.attributes or {},
                        "chunking_strategy": resolved(entry.chunking_strategy),
                        "usage_bytes": 0,
                        "batch_id": batch_id,
                        "job_id": None,
                    }
                    for position, (entry, (filename, _)) in enumerate(kept)
                ],
            )
        await self._cancel_jobs(job_ids)
        await self._submit(store_id, ids, owner)
        await self.touch(store_id)
        return ids

    async def _submit(self, store_id: str, file_ids: Sequence[str], owner: str | None) -> None:
        payloads = [{"vector_store_id": store_id, "file_id": file_id} for file_id in file_ids]
        job_ids = await self.jobs.submit_many(INGEST_JOB, payloads, owner=owner)
        async with rows.write(self._engine) as conn:
            await conn.execute(
                rows.files.update()
                .where(rows.files.c.vector_store_id == store_id, rows.files.c.id == sa.bindparam("b_file"))
                .values(job_id=sa.bindparam("b_job")),
                [{"b_file": f, "b_job": j} for f, j in zip(file_ids, job_ids, strict=True)],
            )

    async def _resubmit_orphans(self) -> None:
        cutoff = self.clock() - _ORPHAN_AGE_NS
        async with self._engine.connect() as conn:
            orphans = (
                await conn.execute(
                    sa.select(rows.files.c.vector_store_id, rows.files.c.id, rows.files.c.owner).where(
                        rows.files.c.status == "in_progress",
                        rows.files.c.job_id.is_(None),
                        rows.files.c.created_at < cutoff,
                    )
                )
            ).all()
        for store_id, file_id, owner in orphans:
            logger.info(
                "vector store %s: resubmitting the ingestion of %s (its job was lost)", store_id, file_id
            )
            await self._submit(store_id, [file_id], owner)

    async def _detach_rows(
        self, conn: AsyncConnection, file_id: str, scope: sa.ColumnElement[bool]
    ) -> _Detached:
        """Delete the file's attachment rows in `scope` and the chunks stored for them."""
        held = (await conn.execute(_stores_where(scope))).all()
        job_ids = await self._in_progress_jobs(conn, scope)
        await conn.execute(rows.files.delete().where(scope))
        await conn.execute(
            rows.chunks.delete().where(
                rows.chunks.c.vector_store_id.in_([store.id for store in held]),
                rows.chunks.c.file_id == file_id,
            )
        )
        return _Detached(stores=list(held), job_ids=job_ids)

    async def _after_detach(self, file_id: str, detached: _Detached) -> None:
        """Stop the file's ingestion, then take its chunks out of the indexes once more: an
        ingestion inserting after this finds its row gone and removes them itself; one that
        inserted before is undone here."""
        await self._cancel_jobs(detached.job_ids)
        for store in detached.stores:
            provider = self.providers.get(store.provider_id)
            try:
                if provider is not None:
                    await provider.delete_file(store.id, file_id)
            except OGXError:
                logger.exception(
                    "vector store %s: removing chunks of detached file %s failed", store.id, file_id
                )

    async def _attached(self, store_id: str, file_id: str) -> bool:
        async with self._engine.connect() as conn:
            query = sa.select(rows.files.c.id).where(
                rows.files.c.vector_store_id == store_id, rows.files.c.id == file_id
            )
            return (await conn.execute(query)).first() is not None

    async def _in_progress_jobs(self, conn: AsyncConnection, scope: sa.ColumnElement[bool]) -> list[str]:
        query = sa.select(rows.files.c.job_id).where(
            scope, rows.files.c.status == "in_progress", rows.files.c.job_id.is_not(None)
        )
        return list((await conn.execute(query)).scalars())

    async def _cancel_jobs(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            with contextlib.suppress(NotFound):
                await self.jobs.cancel(job_id)

    async def _store_row(self, conn: AsyncConnection, store_id: str, owner: str | None) -> Any:
        query = sa.select(rows.stores).where(
            rows.stores.c.id == store_id, rows.stores.c.owner.is_not_distinct_from(owner)
        )
        return await _one(
            conn, query, NotFound(f"vector store {store_id!r} not found", param="vector_store_id")
        )

    async def _file_row(self, conn: AsyncConnection, store_id: str, file_id: str, owner: str | None) -> Any:
        await self._store_row(conn, store_id, owner)
        query = sa.select(rows.files).where(
            rows.files.c.vector_store_id == store_id, rows.files.c.id == file_id
        )
        missing = NotFound(f"file {file_id!r} is not in vector store {store_id!r}", param="file_id")
        return await _one(conn, query, missing)

    async def _batch_row(self, conn: AsyncConnection, store_id: str, batch_id: str, owner: str | None) -> Any:
        await self._store_row(conn, store_id, owner)
        query = sa.select(rows.batches).where(
            rows.batches.c.id == batch_id, rows.batches.c.vector_store_id == store_id
        )
        missing = NotFound(
            f"file batch {batch_id!r} not found in vector store {store_id!r}", param="batch_id"
        )
        return await _one(conn, query, missing)


async def _one(conn: AsyncConnection, query: sa.Select[Any], missing: NotFound) -> Any:
    """The row `query` selects, or `missing` raised."""
    row = (await conn.execute(query)).first()
    if row is None:
        raise missing
    return row


def _in_owners_stores(file: FileInfo) -> sa.ColumnElement[bool]:
    """The file's attachments (a file attaches only to stores of its own owner)."""
    owners_stores = sa.select(rows.stores.c.id).where(rows.stores.c.owner.is_not_distinct_from(file.owner))
    return sa.and_(rows.files.c.id == file.id, rows.files.c.vector_store_id.in_(owners_stores))


def _stores_where(scope: sa.ColumnElement[bool]) -> sa.Select[str, str]:
    """The stores (id, provider id) of the attachment rows in `scope`."""
    return (
        sa.select(rows.stores.c.id, rows.stores.c.provider_id)
        .join(rows.files, rows.files.c.vector_store_id == rows.stores.c.id)
        .where(scope)
    )


@dataclass(frozen=True)
class _Detached:
    """What detaching a file deleted: the stores it left (id, provider id) and its ingestion jobs
    still running."""

    stores: list[Any]
    job_ids: list[str]


class _Row:
    """Attribute access over a row rendered as a dict (for `page`, which renders before we count)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _expiry(expires_after: ExpiresAfter | None, last_active_at: int) -> dict[str, Any]:
    if expires_after is None:
        return {"expires_after": None, "expires_at": None, "last_active_at": last_active_at}
    return {
        "expires_after": expires_after.model_dump(),
        "expires_at": last_active_at + expires_after.days * DAY,
        "last_active_at": last_active_at,
    }


def stored_chunk(row: Any, attributes: dict[str, Any]) -> Chunk:
    from ogx.vector_stores.embedding import unpack

    return Chunk(
        chunk_id=row.id,
        content=row.content,
        embedding=unpack(row.embedding),
        file_id=row.file_id,
        attributes=attributes,
        metadata=row.metadata,
    )
