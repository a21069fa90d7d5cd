"""The files service: ids, metadata rows (with their owner), expiry, the size limit, and the
bytes through a `FilesProvider`. The files routes use it, and so do the APIs that read or write
files by id (vector-store ingestion, batches)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.storage import tables
from ogx.storage.pagination import Order, check_limit, page
from ogx_api import InvalidRequest, NotFound, PayloadTooLarge, ProviderUnavailable
from ogx_api.files import FilesProvider

logger = logging.getLogger(__name__)

_table = tables.files

# Purposes a client may upload with (CreateFileRequest) and those a file may have (OpenAIFile;
# the `*_output`/`-results` ones are written by the server's own APIs).
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
PURPOSES = (*UPLOAD_PURPOSES, "assistants_output", "batch_output", "fine-tune-results")
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 30 * 24 * 3600
BATCH_DEFAULT_EXPIRY_SECONDS = 30 * 24 * 3600
MAX_LIST_LIMIT = 10_000
SWEEP_INTERVAL = 60.0
_SWEEP_BATCH = 500


@dataclass(frozen=True)
class FileInfo:
    """A file's metadata row."""

    id: str
    owner: str | None
    created_at_ns: int
    expires_at: int | None
    filename: str
    purpose: str
    bytes: int
    content_type: str
    provider_id: str

    def to_openai(self) -> dict[str, Any]:
        """The `OpenAIFile` object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at_ns // 1_000_000_000,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass(frozen=True)
class StagedFile:
    """Bytes stored under an id that has no metadata row yet: `commit` publishes it,
    `discard` removes it."""

    id: str
    bytes: int
    provider_id: str
    owner: str | None


class FileDependent(Protocol):
    """Data derived from files that must leave with them (a vector store's chunks and rows).
    Deleting a file (by request or by expiry) calls, in order:

    1. `before_file_delete(file)`: nothing is deleted yet; remove what is safe to remove twice
       (index entries). Raising stops the delete: the file stays, and deleting it again retries.
    2. `delete_file_rows(conn, file)`: inside the transaction that deletes the file's row;
       delete the rows that refer to it. Returns what step 3 needs.
    3. `after_file_delete(file, state)`: after that transaction committed; cleanup that must
       not fail the delete (errors are logged), e.g. what a concurrent writer added meanwhile.
    """

    async def before_file_delete(self, file: FileInfo) -> None: ...

    async def delete_file_rows(self, conn: AsyncConnection, file: FileInfo) -> Any: ...

    async def after_file_delete(self, file: FileInfo, state: Any) -> None: ...


class FilesService:
    def __init__(
        self,
        engine: AsyncEngine,
        providers: Mapping[str, FilesProvider],
        *,
        clock: Callable[[], int] = time.time_ns,
        sweep_interval: float = SWEEP_INTERVAL,
    ) -> None:
        """`providers` maps provider ids to providers; new files go to the first, and each file
        is read from the provider that stored it. `clock` gives the time in nanoseconds."""
        if not providers:
            raise ValueError("FilesService needs at least one files provider")
        self._engine = engine
        self._providers = dict(providers)
        self._upload_provider_id = next(iter(self._providers))
        self.clock = clock
        self._sweep_interval = sweep_interval
        self._sweeper: asyncio.Task[None] | None = None
        self._dependents: list[FileDependent] = []

    def add_dependent(self, dependent: FileDependent) -> None:
        """Tell `dependent` of every file deletion from now on (register before `start`, whose
        sweeper deletes expired files)."""
        self._dependents.append(dependent)

    @property
    def max_upload_bytes(self) -> int:
        return self._providers[self._upload_provider_id].max_upload_bytes

    def too_large(self) -> PayloadTooLarge:
        limit = self.max_upload_bytes
        return PayloadTooLarge(
            f"the file exceeds this server's upload limit of {limit} bytes ({_human(limit)})",
            param="file",
            code="file_too_large",
        )

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_periodically(), name="ogx-files-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    # -- writing ------------------------------------------------------------------------------

    async def stage(self, chunks: AsyncIterator[bytes], *, owner: str | None) -> StagedFile:
        """Store the bytes under a new id, counting them: beyond `max_upload_bytes` the upload
        stops with `PayloadTooLarge` and the provider removes what it had written."""
        file_id = f"file-{secrets.token_hex(12)}"
        provider = self._providers[self._upload_provider_id]
        size = await provider.write(file_id, self._bounded(chunks, provider.max_upload_bytes))
        return StagedFile(file_id, size, self._upload_provider_id, owner)

    async def commit(
        self,
        staged: StagedFile,
        *,
        filename: str,
        purpose: str,
        expires_after: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """Publish a staged file; `expires_after` is in seconds from now."""
        if purpose not in PURPOSES:
            raise InvalidRequest(
                f"unknown purpose {purpose!r}; one of: {', '.join(PURPOSES)}", param="purpose"
            )
        if expires_after is None and purpose == "batch":
            expires_after = BATCH_DEFAULT_EXPIRY_SECONDS
        created_at = self.clock()
        info = FileInfo(
            id=staged.id,
            owner=staged.owner,
            created_at_ns=created_at,
            expires_at=None if expires_after is None else created_at // 1_000_000_000 + expires_after,
            filename=filename,
            purpose=purpose,
            bytes=staged.bytes,
            content_type=content_type,
            provider_id=staged.provider_id,
        )
        async with self._engine.begin() as conn:
            await conn.execute(_table.insert().values(**_row(info)))
        return info.to_openai()

    async def discard(self, staged: StagedFile) -> None:
        await self._providers[staged.provider_id].delete(staged.id)

    async def create(
        self,
        chunks: AsyncIterator[bytes],
        *,
        filename: str,
        purpose: str,
        owner: str | None,
        expires_after: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """Store a file written by the server itself (a batch's output, …)."""
        staged = await self.stage(chunks, owner=owner)
        try:
            return await self.commit(
                staged,
                filename=filename,
                purpose=purpose,
                expires_after=expires_after,
                content_type=content_type,
            )
        except BaseException:  # also cancellation: staged bytes never outlive a failed commit; re-raised
            await self.discard(staged)
            raise

    # -- reading ------------------------------------------------------------------------------

    async def info(self, file_id: str, owner: str | None) -> FileInfo:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(_table).where(_table.c.id == file_id, *self._visible(owner)))
            ).first()
        if row is None:
            raise NotFound(f"file {file_id!r} not found", param="file_id")
        return _info(row)

    async def get(self, file_id: str, owner: str | None) -> dict[str, Any]:
        return (await self.info(file_id, owner)).to_openai()

    async def open(self, file_id: str, owner: str | None) -> tuple[FileInfo, AsyncIterator[bytes]]:
        """The file's metadata and its bytes as a stream."""
        info = await self.info(file_id, owner)
        provider = self._providers.get(info.provider_id)
        if provider is None:
            raise ProviderUnavailable(
                f"file {file_id!r} is stored by files provider {info.provider_id!r}, which is not configured"
            )
        return info, provider.read(file_id)

    async def list(
        self, *, owner: str | None, after: str | None, limit: int, order: Order, purpose: str | None
    ) -> dict[str, Any]:
        check_limit(limit, MAX_LIST_LIMIT)
        where = self._visible(owner)
        if purpose is not None:
            if purpose not in PURPOSES:
                raise InvalidRequest(
                    f"unknown purpose {purpose!r}; one of: {', '.join(PURPOSES)}", param="purpose"
                )
            where.append(_table.c.purpose == purpose)
        async with self._engine.connect() as conn:
            return await page(
                conn,
                _table,
                where=where,
                after=after,
                limit=limit,
                order=order,
                render=lambda row: _info(row).to_openai(),
                max_limit=MAX_LIST_LIMIT,
            )

    # -- deleting -----------------------------------------------------------------------------

    async def delete(self, file_id: str, owner: str | None) -> dict[str, Any]:
        await self._delete(await self.info(file_id, owner))
        return {"id": file_id, "object": "file", "deleted": True}

    async def sweep_expired(self) -> int:
        """Delete expired files (they are invisible from the moment they expire); returns how
        many. Several workers may sweep at once: each file is deleted by whoever removes its row."""
        removed = 0
        while True:
            now = self.clock() // 1_000_000_000
            async with self._engine.connect() as conn:
                rows = (
                    await conn.execute(
                        sa.select(_table).where(_table.c.expires_at <= now).limit(_SWEEP_BATCH)
                    )
                ).all()
            failed = False
            for row in rows:
                try:
                    removed += await self._delete(_info(row))
                except Exception:  # e.g. a vector_io provider down: the next sweep tries again
                    logger.exception("file %s: deleting the expired file failed", row.id)
                    failed = True
            if failed or len(rows) < _SWEEP_BATCH:  # (a failed row would be selected again)
                return removed

    async def hold(self, conn: AsyncConnection, file_ids: Sequence[str], owner: str | None) -> set[str]:
        """Which of `file_ids` exist for `owner`, their rows locked until `conn`'s transaction
        ends (PostgreSQL `FOR UPDATE`; SQLite's write transactions run one at a time anyway):
        rows written in that transaction that refer to them are seen by a concurrent delete,
        which waits for it."""
        query = (
            sa.select(_table.c.id)
            .where(_table.c.id.in_(file_ids), *self._visible(owner))
            .order_by(_table.c.id)  # one lock order for every transaction: no deadlock
            .with_for_update()
        )
        return set((await conn.execute(query)).scalars())

    # -- internals ----------------------------------------------------------------------------

    def _visible(self, owner: str | None) -> list[sa.ColumnElement[bool]]:
        now = self.clock() // 1_000_000_000
        return [
            _table.c.owner.is_not_distinct_from(owner),
            sa.or_(_table.c.expires_at.is_(None), _table.c.expires_at > now),
        ]

    async def _delete(self, info: FileInfo) -> bool:
        """Dependents first (a failure there leaves the file as it was, to delete again), then
        the file's row and the rows referring to it in one transaction, then the bytes. Whether
        this call removed the row (else a concurrent delete did, and removes the bytes)."""
        for dependent in self._dependents:
            await dependent.before_file_delete(info)
        async with self._engine.begin() as conn:
            # The file's row first: on PostgreSQL this waits for a transaction holding it (`hold`).
            deleted = (await conn.execute(_table.delete().where(_table.c.id == info.id))).rowcount
            states = [await dependent.delete_file_rows(conn, info) for dependent in self._dependents]
        for dependent, state in zip(self._dependents, states, strict=True):
            try:
                await dependent.after_file_delete(info, state)
            except Exception:  # the file is deleted; what is left behind is logged
                logger.exception("file %s: cleaning up after its deletion failed", info.id)
        if deleted:
            await self._delete_bytes(info)
        return bool(deleted)

    async def _delete_bytes(self, info: FileInfo) -> None:
        provider = self._providers.get(info.provider_id)
        if provider is None:
            logger.warning(
                "file %s: files provider %r is not configured; bytes left", info.id, info.provider_id
            )
            return
        try:
            await provider.delete(info.id)
        except Exception:  # the row is gone; leftover bytes are logged, not the client's problem
            logger.exception("file %s: deleting its bytes from %r failed", info.id, info.provider_id)

    async def _bounded(self, chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise self.too_large()
            yield chunk

    async def _sweep_periodically(self) -> None:
        while True:
            try:
                removed = await self.sweep_expired()
                if removed:
                    logger.info("removed %d expired files", removed)
            except Exception:  # the database may be briefly unavailable; try again later
                logger.exception("sweeping expired files failed")
            await asyncio.sleep(self._sweep_interval)


def _row(info: FileInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "owner": info.owner,
        "created_at": info.created_at_ns,
        "expires_at": info.expires_at,
        "filename": info.filename,
        "purpose": info.purpose,
        "bytes": info.bytes,
        "content_type": info.content_type,
        "provider_id": info.provider_id,
    }


def _info(row: Any) -> FileInfo:
    return FileInfo(
        id=row.id,
        owner=row.owner,
        created_at_ns=row.created_at,
        expires_at=row.expires_at,
        filename=row.filename,
        purpose=row.purpose,
        bytes=row.bytes,
        content_type=row.content_type,
        provider_id=row.provider_id,
    )


def _human(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"
