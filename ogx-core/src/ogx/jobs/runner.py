"""`JobRunner`: claims due jobs and runs their handlers, a few at a time, in this process.

Each worker process (and replica) runs one. It polls the jobs table at a modest interval (a
submit in the same process wakes it at once), renews the leases of the jobs it runs, retries a
failed job with exponential backoff until its attempts are used up, cancels a handler whose job
was cancelled or whose lease it lost, and on shutdown gives its unfinished jobs back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time

from ogx.jobs.queue import Job, JobQueue, PermanentJobError

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        queue: JobQueue,
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        lease_seconds: float = 30.0,
        retry_base: float = 2.0,
        retry_max: float = 300.0,
        shutdown_timeout: float = 10.0,
        worker_id: str | None = None,
    ) -> None:
        """`concurrency` jobs at most at a time; leases last `lease_seconds` and are renewed every
        third of that; the n-th retry waits about `retry_base * 2**(n-1)` seconds (at most
        `retry_max`); on shutdown, running handlers get `shutdown_timeout` seconds to finish."""
        self.queue = queue
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.shutdown_timeout = shutdown_timeout
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._running: dict[str, asyncio.Task[None]] = {}
        self._lease_deadline: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.queue.add_listener(self)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="ogx-jobs-claim"),
            asyncio.create_task(self._renew_loop(), name="ogx-jobs-renew"),
        ]

    async def stop(self) -> None:
        """Stop claiming; let running handlers finish within `shutdown_timeout`, then cancel the
        rest and give their jobs back, queued, without counting the interrupted attempt."""
        self._stopping = True
        self._wake.set()
        claim_loop, renew_loop = self._loops
        # Let a claim in progress finish (its jobs then run or are given back below).
        _, still_claiming = await asyncio.wait([claim_loop], timeout=self.shutdown_timeout)
        for task in still_claiming:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        interrupted: list[str] = []
        if self._running:
            running = dict(self._running)
            _, pending = await asyncio.wait(running.values(), timeout=self.shutdown_timeout)
            interrupted = [job_id for job_id, task in running.items() if task in pending]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        renew_loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renew_loop
        self.queue.remove_listener(self)
        if interrupted:
            try:
                await self.queue.release(self.worker_id, interrupted)
                logger.info("gave back %d unfinished jobs at shutdown", len(interrupted))
            except Exception:  # their leases expire and another worker takes them
                logger.exception("giving back %d unfinished jobs failed", len(interrupted))

    # -- called by the queue in this process --------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def cancelled(self, job_id: str) -> None:
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()

    # -- loops --------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        woken = True
        while not self._stopping:
            self._wake.clear()
            free = self.concurrency - len(self._running)
            kinds = self.queue.kinds()
            claimed: list[Job] = []
            if free > 0 and kinds:
                try:
                    # A timed poll reads first, so idle workers don't take the write lock each time.
                    if woken or await self.queue.any_due(kinds):
                        claimed = await self.queue.claim(self.worker_id, kinds, free, self.lease_seconds)
                except Exception:  # the database may be briefly unavailable; poll again later
                    logger.exception("claiming jobs failed")
            for job in claimed:
                self._lease_deadline[job.id] = time.monotonic() + self.lease_seconds
                self._running[job.id] = asyncio.create_task(self._execute(job), name=f"ogx-job-{job.id}")
            if claimed and len(claimed) == free:
                continue  # there may be more due; claim again when a slot frees
            woken = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval * random.uniform(0.8, 1.2)):
                    await self._wake.wait()
                    woken = True

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            held = list(self._running)
            if not held:
                continue
            started = time.monotonic()
            try:
                kept = await self.queue.renew(self.worker_id, held, self.lease_seconds)
            except Exception:  # the database may be briefly unavailable: logged, tried again next round
                logger.exception("renewing job leases failed")
                # A job whose lease would run out before the next try stops now, before another
                # worker can take it over and run it a second time.
                next_try = time.monotonic() + self.lease_seconds / 3
                for job_id in held:
                    if next_try >= self._lease_deadline.get(job_id, 0):
                        self._lose(job_id, "its lease could not be renewed")
                continue
            for job_id in held:
                if job_id in kept:
                    self._lease_deadline[job_id] = started + self.lease_seconds
                else:
                    self._lose(job_id, "it was cancelled or its lease was taken over")

    def _lose(self, job_id: str, why: str) -> None:
        task = self._running.get(job_id)
        if task is not None and not task.done():
            logger.info("stopping job %s: %s", job_id, why)
            task.cancel()

    async def _execute(self, job: Job) -> None:
        try:
            if job.attempts > job.max_attempts:
                error = f"the worker running it stopped (its lease expired) on the last of {job.max_attempts} attempts"
                if await self.queue.fail(self.worker_id, job, error, retry_in=None):
                    await self._failed_for_good(job, error)
                return
            handler = self.queue.handler(job.kind)
            try:
                result = await handler(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever a handler raises is the job's failure: recorded, retried
                await self._record_failure(job, exc)
                return
            try:
                if not await self.queue.succeed(self.worker_id, job, result):
                    logger.warning("job %s finished after it was cancelled or taken over", job.id)
            except TypeError as exc:  # the result is not JSON-ready
                await self._record_failure(job, PermanentJobError(f"handler result cannot be stored: {exc}"))
        except asyncio.CancelledError:
            if not self._stopping:
                logger.info("job %s was cancelled", job.id)
            # A cancelled handler records nothing: the job was cancelled, its lease is gone, or the
            # runner is stopping (and `stop` gives the job back).
        except Exception:  # the database failed us: logged, and the lease's expiry reruns the job
            logger.exception(
                "recording the outcome of job %s failed; it runs again when its lease expires", job.id
            )
        finally:
            self._running.pop(job.id, None)
            self._lease_deadline.pop(job.id, None)
            self._wake.set()

    async def _record_failure(self, job: Job, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        permanent = isinstance(exc, PermanentJobError)
        retry_in = None if permanent else self._backoff(job.attempts)
        logger.warning(
            "job %s (%s) attempt %d/%d failed: %s", job.id, job.kind, job.attempts, job.max_attempts, error
        )
        recorded = await self.queue.fail(self.worker_id, job, error, retry_in=retry_in)
        if recorded and (retry_in is None or job.attempts >= job.max_attempts):
            await self._failed_for_good(job, error)

    async def _failed_for_good(self, job: Job, error: str) -> None:
        hook = self.queue.failure_hook(job.kind)
        if hook is None:
            return
        try:
            await hook(job, error)
        except Exception:  # a hook's bug must not stop the runner: logged
            logger.exception("the failure hook of job %s (%s) failed", job.id, job.kind)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.retry_max, self.retry_base * 2 ** max(0, attempt - 1))
        return delay * random.uniform(0.75, 1.25)
