"""Background jobs in one process: a job runs once, failures are retried and then recorded,
cancellation stops a handler, a dead worker's job is taken over when its lease expires,
several runners on one SQLite file never share a job, and shutdown gives unfinished work back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.jobs import Job, JobQueue, JobRunner, JobStatus, PermanentJobError
from ogx.storage import create_engine, migrate, tables
from ogx_api import NotFound

FAST = {"poll_interval": 0.02, "retry_base": 0.01, "lease_seconds": 2.0}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    await migrate(engine)
    yield engine
    await engine.dispose()


async def eventually(check: Callable[[], Any], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def status_is(queue: JobQueue, job_id: str, *statuses: JobStatus) -> bool:
    return (await queue.get(job_id)).status in statuses


async def test_a_job_runs_once_and_records_its_result(engine):
    queue = JobQueue(engine)
    calls: list[Job] = []

    async def handler(job: Job) -> dict[str, Any]:
        calls.append(job)
        return {"doubled": job.payload["n"] * 2}

    queue.register("double", handler)
    runner = JobRunner(queue, poll_interval=30.0)  # only the in-process wake-up can start it soon
    await runner.start()
    try:
        started = time.monotonic()
        job_id = await queue.submit("double", {"n": 21}, owner="alice")
        await eventually(lambda: status_is(queue, job_id, JobStatus.succeeded), within=5)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.1)
    finally:
        await runner.stop()
    job = await queue.get(job_id)
    assert (job.result, job.attempts, job.owner, job.error) == ({"doubled": 42}, 1, "alice", None)
    assert job.finished_at is not None and job.kind == "double"
    assert [c.id for c in calls] == [job_id]
    assert elapsed < 2, f"a submit in the same process wakes the runner; took {elapsed:.2f}s"


async def test_jobs_submitted_in_a_callers_transaction_exist_only_if_it_commits(engine):
    queue = JobQueue(engine)
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.payload)

    queue.register("work", handler)
    runner = JobRunner(queue, poll_interval=30.0)
    await runner.start()
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                [lost] = await queue.submit_many("work", ["lost"], conn=conn)
                raise RuntimeError("the caller's write failed")
        async with engine.begin() as conn:
            [kept] = await queue.submit_many("work", ["kept"], conn=conn)
        queue.wake("work")
        await eventually(lambda: status_is(queue, kept, JobStatus.succeeded), within=5)
    finally:
        await runner.stop()
    with pytest.raises(NotFound):
        await queue.get(lost)
    assert ran == ["kept"]


async def test_failures_are_retried_with_backoff_then_fail_with_the_error(engine):
    queue = JobQueue(engine)
    attempts: list[int] = []

    async def flaky(job: Job) -> str:
        attempts.append(job.attempts)
        if job.payload == "always" or job.attempts < 2:
            raise ValueError(f"boom on attempt {job.attempts}")
        return "ok"

    queue.register("flaky", flaky)
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        doomed = await queue.submit("flaky", "always", max_attempts=3)
        recovers = await queue.submit("flaky", "once", max_attempts=3)
        await eventually(lambda: status_is(queue, doomed, JobStatus.failed))
        await eventually(lambda: status_is(queue, recovers, JobStatus.succeeded))
    finally:
        await runner.stop()
    failed, succeeded = await queue.get(doomed), await queue.get(recovers)
    assert (failed.attempts, failed.error) == (3, "ValueError: boom on attempt 3")
    assert (succeeded.attempts, succeeded.result) == (2, "ok")
    assert sorted(attempts) == [1, 1, 2, 2, 3]


async def test_a_permanent_error_or_an_unstorable_result_fails_at_once(engine):
    queue = JobQueue(engine)

    async def refuse(job: Job) -> Any:
        if job.payload == "permanent":
            raise PermanentJobError("the file is not JSONL")
        return object()

    queue.register("refuse", refuse)
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        permanent = await queue.submit("refuse", "permanent", max_attempts=5)
        unstorable = await queue.submit("refuse", "object", max_attempts=5)
        for job_id in (permanent, unstorable):
            await eventually(lambda job_id=job_id: status_is(queue, job_id, JobStatus.failed))
    finally:
        await runner.stop()
    first, second = await queue.get(permanent), await queue.get(unstorable)
    assert (first.attempts, first.error) == (1, "PermanentJobError: the file is not JSONL")
    assert second.attempts == 1 and "cannot be stored" in (second.error or "")


async def test_a_cancelled_queued_job_never_runs(engine):
    queue = JobQueue(engine)
    calls: list[str] = []

    async def handler(job: Job) -> None:
        calls.append(job.id)

    queue.register("work", handler)
    job_id = await queue.submit("work", {})
    cancelled = await queue.cancel(job_id)
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        other = await queue.submit("work", {})
        await eventually(lambda: status_is(queue, other, JobStatus.succeeded))
    finally:
        await runner.stop()
    assert cancelled.status is JobStatus.cancelled and cancelled.finished_at is not None
    assert calls == [other]
    assert (await queue.cancel(other)).status is JobStatus.succeeded, "a finished job stays as it is"


async def test_cancelling_a_running_job_cancels_its_handler(engine, tmp_path):
    queue = JobQueue(engine)
    started, handler_cancelled = asyncio.Event(), asyncio.Event()

    async def forever(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            handler_cancelled.set()
            raise

    queue.register("forever", forever)
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        job_id = await queue.submit("forever", {})
        await asyncio.wait_for(started.wait(), 5)
        await queue.cancel(job_id)
        await asyncio.wait_for(handler_cancelled.wait(), 5)
        await asyncio.sleep(0.1)
    finally:
        await runner.stop()
    job = await queue.get(job_id)
    assert job.status is JobStatus.cancelled and job.result is None


async def test_a_cancellation_from_another_process_reaches_the_handler_at_its_lease_renewal(engine):
    queue, elsewhere = JobQueue(engine), JobQueue(engine)  # `elsewhere` has no runner in this process
    started, handler_cancelled = asyncio.Event(), asyncio.Event()

    async def forever(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            handler_cancelled.set()
            raise

    queue.register("forever", forever)
    runner = JobRunner(queue, poll_interval=0.02, lease_seconds=0.3)
    await runner.start()
    try:
        job_id = await queue.submit("forever", {})
        await asyncio.wait_for(started.wait(), 5)
        await elsewhere.cancel(job_id)
        await asyncio.wait_for(handler_cancelled.wait(), 2)
    finally:
        await runner.stop()
    assert (await queue.get(job_id)).status is JobStatus.cancelled


async def leave_running(engine: AsyncEngine, job_id: str, *, attempts: int, expired_ago: float) -> None:
    """What a worker killed in the middle of a job leaves behind."""
    async with engine.begin() as conn:
        await conn.execute(
            tables.jobs.update()
            .where(tables.jobs.c.id == job_id)
            .values(
                status="running",
                lease_owner="killed-worker",
                lease_expires_at=time.time() - expired_ago,
                attempts=attempts,
            )
        )


async def test_a_job_left_running_by_a_dead_worker_is_taken_over_once_its_lease_expires(engine):
    queue = JobQueue(engine)
    calls: list[int] = []

    async def handler(job: Job) -> str:
        calls.append(job.attempts)
        return "recovered"

    queue.register("work", handler)
    stale = await queue.submit("work", {}, max_attempts=3)
    live = await queue.submit("work", {}, max_attempts=3)
    exhausted = await queue.submit("work", {}, max_attempts=2)
    await leave_running(engine, stale, attempts=1, expired_ago=1)
    await leave_running(engine, live, attempts=1, expired_ago=-3600)  # its worker is alive
    await leave_running(engine, exhausted, attempts=2, expired_ago=1)
    runner = JobRunner(queue, **FAST)  # the restarted server
    await runner.start()
    try:
        await eventually(lambda: status_is(queue, stale, JobStatus.succeeded))
        await eventually(lambda: status_is(queue, exhausted, JobStatus.failed))
        await asyncio.sleep(0.2)
    finally:
        await runner.stop()
    assert (await queue.get(stale)).attempts == 2 and calls == [2]
    assert (await queue.get(live)).status is JobStatus.running, "a valid lease is respected"
    assert "lease expired" in ((await queue.get(exhausted)).error or "")


async def test_a_long_job_keeps_its_lease_and_is_not_run_twice(engine, tmp_path):
    queues = [JobQueue(engine), JobQueue(engine)]
    calls: list[str] = []

    async def slow(job: Job) -> None:
        calls.append(job.id)
        await asyncio.sleep(1.0)

    for queue in queues:
        queue.register("slow", slow)
    runners = [JobRunner(q, poll_interval=0.01, lease_seconds=0.25) for q in queues]
    for runner in runners:
        await runner.start()
    try:
        job_id = await queues[0].submit("slow", {})
        await eventually(lambda: status_is(queues[0], job_id, JobStatus.succeeded))
    finally:
        for runner in runners:
            await runner.stop()
    assert calls == [job_id], "lease renewals keep the other runner from taking it over"
    assert (await queues[0].get(job_id)).attempts == 1


async def test_four_runners_on_one_sqlite_file_claim_each_job_exactly_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    engines = [create_engine(url) for _ in range(4)]  # separate connection pools, as separate workers
    await migrate(engines[0])
    executions: list[tuple[int, str]] = []
    runners = []
    for index, engine in enumerate(engines):
        queue = JobQueue(engine)

        async def handler(job: Job, index: int = index) -> int:
            executions.append((index, job.id))
            await asyncio.sleep(0.005)
            return index

        queue.register("work", handler)
        runners.append(JobRunner(queue, concurrency=4, poll_interval=0.01))
    submitter = JobQueue(engines[0])
    ids = [await submitter.submit("work", {"n": n}) for n in range(200)]
    for runner in runners:
        await runner.start()
    try:

        async def all_done() -> bool:
            async with engines[0].connect() as conn:
                statuses = (await conn.execute(sa.select(tables.jobs.c.status))).scalars().all()
            return statuses.count("succeeded") == len(ids)

        await eventually(all_done, within=60)
    finally:
        for runner in runners:
            await runner.stop()
        for engine in engines:
            await engine.dispose()
    counts = Counter(job_id for _, job_id in executions)
    assert set(counts) == set(ids) and set(counts.values()) == {1}, "every job ran, each exactly once"
    # SQLite's busy handler is not fair, so the split varies; what matters is that they all competed.
    assert len({index for index, _ in executions}) >= 2, "the runners shared the work"


async def test_shutdown_lets_short_jobs_finish_and_gives_long_ones_back(engine):
    queue = JobQueue(engine)
    started: dict[str, asyncio.Event] = {}

    async def handler(job: Job) -> str:
        started[job.payload].set()
        await asyncio.sleep(0.2 if job.payload == "short" else 3600)
        return job.payload

    queue.register("work", handler)
    short = await queue.submit("work", "short")
    long = await queue.submit("work", "long")
    started.update(short=asyncio.Event(), long=asyncio.Event())
    runner = JobRunner(queue, poll_interval=0.02, shutdown_timeout=0.5)
    await runner.start()
    await asyncio.wait_for(asyncio.gather(started["short"].wait(), started["long"].wait()), 5)
    stopping = time.monotonic()
    await runner.stop()
    took = time.monotonic() - stopping
    finished, given_back = await queue.get(short), await queue.get(long)
    assert (finished.status, finished.result) == (JobStatus.succeeded, "short")
    assert given_back.status is JobStatus.queued and given_back.attempts == 0, "the attempt is not counted"
    assert took < 2, f"shutdown waits at most shutdown_timeout for handlers; took {took:.2f}s"

    async def quick(job: Job) -> str:
        return "done after restart"

    restarted = JobQueue(engine)
    restarted.register("work", quick)
    runner = JobRunner(restarted, **FAST)
    await runner.start()
    try:
        await eventually(lambda: status_is(restarted, long, JobStatus.succeeded))
    finally:
        await runner.stop()
    assert (await restarted.get(long)).result == "done after restart"


async def test_runners_claim_only_the_kinds_they_handle_and_delays_are_respected(engine):
    queue = JobQueue(engine)
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.kind)

    queue.register("mine", handler)
    foreign = await queue.submit("someone-elses", {})
    later = await queue.submit("mine", {}, delay=0.5)
    now = await queue.submit("mine", {})
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        await eventually(lambda: status_is(queue, now, JobStatus.succeeded))
        assert (await queue.get(later)).status is JobStatus.queued
        await eventually(lambda: status_is(queue, later, JobStatus.succeeded))
    finally:
        await runner.stop()
    assert (await queue.get(foreign)).status is JobStatus.queued
    with pytest.raises(ValueError, match="already registered"):
        queue.register("mine", handler)


async def test_the_server_runs_jobs_submitted_through_its_services(serve, tmp_path):
    async with serve({}) as (_, app):
        jobs: JobQueue = app.state.ogx.jobs

        async def echo(job: Job) -> Any:
            return job.payload

        jobs.register("echo", echo)
        job_id = await jobs.submit("echo", {"hello": "world"})
        await eventually(lambda: status_is(jobs, job_id, JobStatus.succeeded))
        assert (await jobs.get(job_id)).result == {"hello": "world"}


async def test_the_failure_hook_runs_once_when_a_job_fails_for_good(engine):
    """Also when the handler never ran its last attempt (its worker died), so whatever the job
    was to finish (a vector-store file) can be marked failed instead of staying in progress."""
    queue = JobQueue(engine)
    failed: list[tuple[str, str]] = []

    async def handler(job: Job) -> None:
        raise RuntimeError("backend down")

    async def on_failed(job: Job, error: str) -> None:
        failed.append((job.id, error))

    queue.register("work", handler, on_failed=on_failed)
    retried = await queue.submit("work", {}, max_attempts=2)
    abandoned = await queue.submit("work", {}, max_attempts=2)
    await leave_running(engine, abandoned, attempts=2, expired_ago=1)
    runner = JobRunner(queue, **FAST)
    await runner.start()
    try:
        await eventually(lambda: len(failed) == 2)
        await asyncio.sleep(0.1)
    finally:
        await runner.stop()
    assert dict(failed)[retried] == "RuntimeError: backend down"
    assert "lease expired" in dict(failed)[abandoned] and len(failed) == 2
