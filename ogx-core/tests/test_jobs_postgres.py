"""Background jobs on PostgreSQL (replicas sharing one database): concurrent claims never
overlap (`FOR UPDATE SKIP LOCKED`), and four runners with their own pools run each job once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.jobs import Job, JobQueue, JobRunner, JobStatus
from ogx.storage import create_engine, migrate, resolve_storage_url, tables

pytestmark = pytest.mark.integration


@pytest.fixture
async def url(ogx_postgres_database: str) -> AsyncIterator[str]:
    resolved = resolve_storage_url(ogx_postgres_database, "unused")
    engine = create_engine(resolved)
    await migrate(engine)
    await engine.dispose()
    yield resolved


async def finished(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(
            sa.select(sa.func.count()).where(tables.jobs.c.status == JobStatus.succeeded.value)
        )


async def test_concurrent_claims_never_overlap(url):
    engines = [create_engine(url, pool_size=2) for _ in range(8)]
    try:
        queue = JobQueue(engines[0])
        ids = {await queue.submit("work", {"n": n}) for n in range(80)}
        claims = await asyncio.gather(
            *(JobQueue(e).claim(f"worker-{i}", ["work"], 10, 30.0) for i, e in enumerate(engines))
        )
    finally:
        for engine in engines:
            await engine.dispose()
    claimed = [job.id for batch in claims for job in batch]
    assert len(claimed) == len(set(claimed)) == 80, "every job claimed by exactly one worker"
    assert set(claimed) == ids


async def test_four_runners_with_their_own_pools_run_each_job_exactly_once(url):
    engines = [create_engine(url, pool_size=4) for _ in range(4)]
    executions: list[tuple[int, str]] = []
    all_ran = asyncio.Event()
    runners = []
    for index, engine in enumerate(engines):
        queue = JobQueue(engine)

        async def handler(job: Job, index: int = index) -> int:
            executions.append((index, job.id))
            await asyncio.sleep(0.005)
            if len(executions) >= 200:
                all_ran.set()
            return index

        queue.register("work", handler)
        runners.append(JobRunner(queue, concurrency=4, poll_interval=0.01))
    ids = [await JobQueue(engines[0]).submit("work", {"n": n}) for n in range(200)]
    for runner in runners:
        await runner.start()
    try:
        await asyncio.wait_for(all_ran.wait(), 60)
    finally:
        for runner in runners:
            await runner.stop()  # lets the last handlers record their results
        done = await finished(engines[0])
        for engine in engines:
            await engine.dispose()
    assert done == len(ids)
    counts = Counter(job_id for _, job_id in executions)
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    assert len({index for index, _ in executions}) == 4, "SKIP LOCKED lets every runner take jobs"
