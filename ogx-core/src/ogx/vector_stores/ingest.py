"""Ingestion of one vector-store file, as a job: read the file, extract and chunk its text, embed
the chunks in batches, replace the file's chunks in the index, then mark it `completed` — or
`failed` with a `last_error` (`unsupported_file`, `invalid_file`, `server_error`).

The handler is idempotent (a re-run replaces the file's chunks), and it finishes only the
attachment it was submitted for: every status change is conditional on the row still being
`in_progress` with this job's id, so a file that was detached, re-attached or cancelled
meanwhile is left alone (and whatever this run indexed for it is removed)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ogx.file_processing import InvalidFile, UnsupportedFile, process
from ogx.file_processing.chunking import StaticChunkingStrategy
from ogx.jobs import Job
from ogx.vector_stores import rows
from ogx.vector_stores.embedding import embed, pack
from ogx_api import NotFound, OGXError
from ogx_api.vector_io import Chunk

if TYPE_CHECKING:
    from ogx.vector_stores.service import VectorStoresService

logger = logging.getLogger(__name__)


class Ingestion:
    def __init__(self, service: VectorStoresService) -> None:
        self.service = service
        self.engine = service.engine

    async def run(self, job: Job) -> dict[str, Any]:
        store_id, file_id = job.payload["vector_store_id"], job.payload["file_id"]
        row = await self._row(store_id, file_id, job.id)
        if row is None:
            return {"skipped": "the file is no longer being ingested by this job"}
        try:
            chunks = await self._chunks(job, row)
        except (UnsupportedFile, InvalidFile) as exc:
            await self._finish(job, row, "failed", last_error={"code": exc.code, "message": exc.message})
            return {"failed": exc.code}
        except OGXError as exc:
            if exc.status_code >= 500 and job.attempts < job.max_attempts:
                raise  # the embedding provider or the index may come back: retried with backoff
            await self._server_error(job, row, exc.message)
            return {"failed": "server_error"}
        except Exception as exc:  # untyped (a bug, a library's own): retried, then the file ends failed
            if job.attempts < job.max_attempts:
                raise
            await self._server_error(job, row, f"{type(exc).__name__}: {exc}")
            return {"failed": "server_error"}
        usage = sum(len(c.content.encode()) + 4 * len(c.embedding or ()) for c in chunks)
        await self._finish(job, row, "completed", usage_bytes=usage)
        return {"chunks": len(chunks)}

    async def failed(self, job: Job, error: str) -> None:
        """The job failed for good (also when its last worker died before recording anything)."""
        row = await self._row(job.payload["vector_store_id"], job.payload["file_id"], job.id)
        if row is not None:
            await self._server_error(job, row, f"ingestion failed: {error}")

    # -- steps --------------------------------------------------------------------------------

    async def _chunks(self, job: Job, row: Any) -> list[Chunk]:
        service = self.service
        store = await service.store(row.vector_store_id, job.owner)
        try:
            info, stream = await service.files.open(row.id, job.owner)
        except NotFound:
            raise InvalidFile(f"file {row.id!r} no longer exists (it was deleted)") from None
        data = b"".join([part async for part in stream])
        strategy = StaticChunkingStrategy.model_validate(row.chunking_strategy)
        # Parsing a large PDF takes a while: off the event loop, which serves requests meanwhile.
        pieces = await asyncio.to_thread(process, data, info.filename, info.content_type, strategy)
        vectors = await embed(service.inference, store.embedding_model, [p.text for p in pieces])
        chunks = [
            Chunk(
                chunk_id=f"{row.id}#{piece.index}",
                content=piece.text,
                embedding=vector,
                file_id=row.id,
                attributes=row.attributes,
                metadata={"filename": info.filename, "chunk_index": piece.index, "token_count": piece.tokens},
            )
            for piece, vector in zip(pieces, vectors, strict=True)
        ]
        # Shielded: a cancellation (the file detached meanwhile) must not interrupt between the
        # insert and the check that removes what it inserted for a file no longer here.
        await asyncio.shield(self._index(job, store, row, chunks))
        return chunks

    async def _index(self, job: Job, store: Any, row: Any, chunks: list[Chunk]) -> None:
        """Replace the file's chunks in the index (and their stored copy, which lets attribute
        updates re-apply without embedding again), then check the attachment is still this
        job's: if not, take them out again; if its attributes changed meanwhile, re-apply them."""
        provider = self.service.provider(store)
        await provider.delete_file(store.id, row.id)
        await provider.insert(store.id, chunks)
        async with rows.write(self.engine) as conn:
            scope = sa.and_(rows.chunks.c.vector_store_id == store.id, rows.chunks.c.file_id == row.id)
            await conn.execute(rows.chunks.delete().where(scope))
            await conn.execute(
                rows.chunks.insert(),
                [
                    {
                        "vector_store_id": store.id,
                        "id": c.chunk_id,
                        "file_id": row.id,
                        "owner": job.owner,
                        "position": index,
                        "content": c.content,
                        "embedding": pack(c.embedding or ()),
                        "metadata": c.metadata,
                    }
                    for index, c in enumerate(chunks)
                ],
            )
        current = await self._row(store.id, row.id, job.id)
        if current is None:
            await self._remove_leftovers(job, row)
        elif current.attributes != row.attributes:
            await provider.insert(
                store.id, [c.model_copy(update={"attributes": current.attributes}) for c in chunks]
            )

    async def _finish(
        self,
        job: Job,
        row: Any,
        status: str,
        *,
        last_error: dict[str, str] | None = None,
        usage_bytes: int = 0,
    ) -> None:
        async with rows.write(self.engine) as conn:
            updated = await conn.execute(
                rows.files.update()
                .where(*_this_attachment(row.vector_store_id, row.id, job.id))
                .values(status=status, last_error=last_error, usage_bytes=usage_bytes)
            )
        if updated.rowcount == 0 and status == "completed":
            await self._remove_leftovers(job, row)
        elif last_error is not None:
            logger.info(
                "vector store %s: file %s failed: %s", row.vector_store_id, row.id, last_error["message"]
            )

    async def _server_error(self, job: Job, row: Any, message: str) -> None:
        await self._finish(job, row, "failed", last_error={"code": "server_error", "message": message[:1000]})

    async def _remove_leftovers(self, job: Job, row: Any) -> None:
        """The file was detached, re-attached or cancelled while this run indexed it."""
        async with self.engine.connect() as conn:
            current = (
                await conn.execute(
                    sa.select(rows.files.c.job_id).where(
                        rows.files.c.vector_store_id == row.vector_store_id, rows.files.c.id == row.id
                    )
                )
            ).first()
        if current is not None and current.job_id != job.id and current.job_id is not None:
            return  # re-attached: the newer job owns the chunks now
        try:
            store = await self.service.store(row.vector_store_id, job.owner)
        except NotFound:
            return  # the store and its index are gone
        await self.service.provider(store).delete_file(store.id, row.id)
        async with rows.write(self.engine) as conn:
            await conn.execute(
                rows.chunks.delete().where(
                    rows.chunks.c.vector_store_id == store.id, rows.chunks.c.file_id == row.id
                )
            )

    async def _row(self, store_id: str, file_id: str, job_id: str) -> Any:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(sa.select(rows.files).where(*_this_attachment(store_id, file_id, job_id)))
            ).first()


def _this_attachment(store_id: str, file_id: str, job_id: str) -> list[sa.ColumnElement[bool]]:
    return [
        rows.files.c.vector_store_id == store_id,
        rows.files.c.id == file_id,
        rows.files.c.status == "in_progress",
        # A job submitted a moment before its id was recorded still owns its row.
        sa.or_(rows.files.c.job_id == job_id, rows.files.c.job_id.is_(None)),
    ]
