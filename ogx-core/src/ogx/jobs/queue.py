"""The jobs table and its queries: submit, read, cancel, and the leased claims a `JobRunner`
makes. A job is claimed atomically (PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, SQLite a
`BEGIN IMMEDIATE` transaction), so each runs in one worker at a time; the worker renews its
lease while the job runs, and every state change it makes afterwards is conditional on still
holding the lease, so a worker that lost it (a cancellation, a reclaim) changes nothing."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.storage import tables
from ogx_api import NotFound

logger = logging.getLogger(__name__)

_table = tables.jobs
MAX_ERROR_CHARS = 4000


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


FINISHED = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    payload: Any
    status: JobStatus
    attempts: int
    max_attempts: int
    owner: str | None
    result: Any
    error: str | None
    run_after: float
    created_at: float
    updated_at: float
    finished_at: float | None


Handler = Callable[[Job], Awaitable[Any]]
FailureHook = Callable[[Job, str], Awaitable[None]]


class PermanentJobError(Exception):
    """Raised by a handler for a failure that retrying cannot fix: the job fails at once."""


class _Listener(Protocol):
    def wake(self) -> None: ...

    def cancelled(self, job_id: str) -> None: ...


class JobQueue:
    """Submit, read and cancel jobs; register a handler per kind. `JobRunner`s execute them."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._handlers: dict[str, Handler] = {}
        self._failure_hooks: dict[str, FailureHook] = {}
        self._listeners: list[_Listener] = []
        self.clock = clock

    def register(self, kind: str, handler: Handler, *, on_failed: FailureHook | None = None) -> None:
        """`async def handler(job) -> result` runs jobs of `kind`; its result must be JSON-ready.
        It may be cancelled (the job was cancelled or the server is stopping) and may run again
        after a crash, so it should be idempotent. `async def on_failed(job, error)` is called
        once a job has failed for good, also when its handler never got to run (its last
        worker died), so whatever the job was to finish can be marked failed."""
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler
        if on_failed is not None:
            self._failure_hooks[kind] = on_failed

    def failure_hook(self, kind: str) -> FailureHook | None:
        return self._failure_hooks.get(kind)

    def handler(self, kind: str) -> Handler:
        return self._handlers[kind]

    def kinds(self) -> list[str]:
        return list(self._handlers)

    async def submit(
        self,
        kind: str,
        payload: Any,
        *,
        owner: str | None = None,
        max_attempts: int = 3,
        delay: float = 0.0,
    ) -> str:
        """Queue a job; returns its id. `payload` must be JSON-ready."""
        [job_id] = await self.submit_many(
            kind, [payload], owner=owner, max_attempts=max_attempts, delay=delay
        )
        return job_id

    async def submit_many(
        self,
        kind: str,
        payloads: Sequence[Any],
        *,
        owner: str | None = None,
        max_attempts: int = 3,
        delay: float = 0.0,
        conn: AsyncConnection | None = None,
    ) -> list[str]:
        """Queue a job per payload in one transaction; returns their ids, in order. With `conn`,
        in the caller's transaction (the jobs exist exactly when the rows they work on do); the
        caller then calls `wake(kind)` once it has committed."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not payloads:
            return []
        now = self.clock()
        job_ids = [f"job_{secrets.token_hex(12)}" for _ in payloads]
        rows = [
            {
                "id": job_id,
                "kind": kind,
                "payload": payload,
                "status": JobStatus.queued.value,
                "attempts": 0,
                "max_attempts": max_attempts,
                "owner": owner,
                "run_after": now + delay,
                "created_at": now,
                "updated_at": now,
            }
            for job_id, payload in zip(job_ids, payloads, strict=True)
        ]
        if conn is not None:
            await conn.execute(_table.insert(), rows)
            return job_ids
        async with self._engine.begin() as own:
            await own.execute(_table.insert(), rows)
        if delay <= 0:
            self.wake(kind)
        return job_ids

    def wake(self, kind: str) -> None:
        """Tell the runners a job of `kind` is due now (they also find it at their next poll)."""
        if kind in self._handlers:
            for listener in self._listeners:
                listener.wake()

    async def get(self, job_id: str) -> Job:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(_table).where(_table.c.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id!r} not found", param="job_id")
        return _job(row)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (a running handler is cancelled, here or in the worker
        holding it at its next lease renewal); a finished job is returned unchanged."""
        now = self.clock()
        async with self._write() as conn:
            await conn.execute(
                _table.update()
                .where(_table.c.id == job_id, _table.c.status.in_([JobStatus.queued, JobStatus.running]))
                .values(
                    status=JobStatus.cancelled.value,
                    lease_owner=None,
                    lease_expires_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
        for listener in self._listeners:
            listener.cancelled(job_id)
        return await self.get(job_id)

    # -- what runners use ---------------------------------------------------------------------

    def add_listener(self, listener: _Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: _Listener) -> None:
        self._listeners.remove(listener)

    async def any_due(self, kinds: Collection[str]) -> bool:
        """A cheap read first, so idle workers don't take the write lock on every poll."""
        async with self._engine.connect() as conn:
            found = await conn.execute(sa.select(_table.c.id).where(self._due(kinds, self.clock())).limit(1))
            return found.first() is not None

    async def claim(self, worker: str, kinds: Collection[str], limit: int, lease_seconds: float) -> list[Job]:
        """Lease up to `limit` due jobs to `worker`: queued ones whose time has come, and running
        ones whose lease expired (their worker died). The claim counts as an attempt, so a job
        that kills its worker every time comes back with `attempts > max_attempts`: the runner
        fails it instead of running it again."""
        now = self.clock()
        async with self._write() as conn:
            pick = (
                sa.select(_table.c.id)
                .where(self._due(kinds, now))
                .order_by(_table.c.run_after, _table.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            rows = await conn.execute(
                _table.update()
                .where(_table.c.id.in_(ids), self._due(kinds, now))
                .values(
                    status=JobStatus.running.value,
                    lease_owner=worker,
                    lease_expires_at=now + lease_seconds,
                    attempts=_table.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*_table.c)
            )
            return sorted((_job(row) for row in rows), key=lambda j: (j.run_after, j.id))

    async def renew(self, worker: str, job_ids: Sequence[str], lease_seconds: float) -> set[str]:
        """Extend the leases `worker` still holds; returns their ids (the others were lost)."""
        if not job_ids:
            return set()
        now = self.clock()
        async with self._write() as conn:
            rows = await conn.execute(
                _table.update()
                .where(*self._held(worker, job_ids))
                .values(lease_expires_at=now + lease_seconds, updated_at=now)
                .returning(_table.c.id)
            )
            return set(rows.scalars())

    async def succeed(self, worker: str, job: Job, result: Any) -> bool:
        orjson.dumps(result)  # a result that cannot be stored fails the job, here, not in the driver
        return await self._finish(worker, job, status=JobStatus.succeeded, result=result, error=None)

    async def fail(self, worker: str, job: Job, error: str, *, retry_in: float | None) -> bool:
        """Record a failed attempt: queued again after `retry_in` seconds, or failed for good
        (`retry_in` None or no attempts left)."""
        error = error[:MAX_ERROR_CHARS]
        if retry_in is None or job.attempts >= job.max_attempts:
            return await self._finish(worker, job, status=JobStatus.failed, result=None, error=error)
        now = self.clock()
        async with self._write() as conn:
            updated = await conn.execute(
                _table.update()
                .where(*self._held(worker, [job.id]))
                .values(
                    status=JobStatus.queued.value,
                    error=error,
                    run_after=now + retry_in,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            return updated.rowcount == 1

    async def release(self, worker: str, job_ids: Sequence[str]) -> None:
        """Give back jobs interrupted by a shutdown: queued again at once, the attempt not counted."""
        if not job_ids:
            return
        now = self.clock()
        async with self._write() as conn:
            await conn.execute(
                _table.update()
                .where(*self._held(worker, job_ids))
                .values(
                    status=JobStatus.queued.value,
                    attempts=_table.c.attempts - 1,
                    run_after=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )

    # -- internals ----------------------------------------------------------------------------

    async def _finish(
        self, worker: str, job: Job, *, status: JobStatus, result: Any, error: str | None
    ) -> bool:
        now = self.clock()
        async with self._write() as conn:
            updated = await conn.execute(
                _table.update()
                .where(*self._held(worker, [job.id]))
                .values(
                    status=status.value,
                    result=result,
                    error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
            return updated.rowcount == 1

    @staticmethod
    def _due(kinds: Collection[str], now: float) -> sa.ColumnElement[bool]:
        return sa.and_(
            _table.c.kind.in_(kinds),
            sa.or_(
                sa.and_(_table.c.status == JobStatus.queued.value, _table.c.run_after <= now),
                sa.and_(_table.c.status == JobStatus.running.value, _table.c.lease_expires_at < now),
            ),
        )

    @staticmethod
    def _held(worker: str, job_ids: Sequence[str]) -> list[sa.ColumnElement[bool]]:
        return [
            _table.c.id.in_(job_ids),
            _table.c.lease_owner == worker,
            _table.c.status == JobStatus.running.value,
        ]

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; on SQLite it takes the write lock up front, so concurrent workers
        queue on the busy timeout instead of failing on a stale snapshot."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with conn.begin():
                yield conn


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        status=JobStatus(row.status),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        owner=row.owner,
        result=row.result,
        error=row.error,
        run_after=row.run_after,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )
