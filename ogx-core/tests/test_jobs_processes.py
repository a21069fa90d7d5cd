"""Background jobs across processes: two worker processes on one SQLite file run each job
exactly once, and a worker killed mid-job (SIGKILL, no chance to clean up) has its job taken
over once the lease expires."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from ogx.jobs import Job, JobQueue, JobRunner, JobStatus
from ogx.storage import create_engine, migrate

WORKER = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path

    import sqlalchemy as sa

    from ogx.jobs import JobQueue, JobRunner
    from ogx.storage import create_engine, tables

    db, log_path, ready_dir, peers, mode, lease = sys.argv[1:7]


    async def main():
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        queue = JobQueue(engine)
        log = open(log_path, "a")

        async def handler(job):
            log.write(job.id + "\\n")
            log.flush()
            if mode == "hang":
                await asyncio.sleep(3600)
            await asyncio.sleep(0.01)
            return os.getpid()

        queue.register("work", handler)
        Path(ready_dir, str(os.getpid())).touch()
        while len(os.listdir(ready_dir)) < int(peers):  # start together, so both compete
            await asyncio.sleep(0.01)
        runner = JobRunner(queue, concurrency=4, poll_interval=0.02, lease_seconds=float(lease))
        await runner.start()
        while True:
            async with engine.connect() as conn:
                left = await conn.scalar(
                    sa.select(sa.func.count()).where(tables.jobs.c.status.in_(["queued", "running"]))
                )
            if not left:
                break
            await asyncio.sleep(0.05)
        await runner.stop()
        await engine.dispose()


    asyncio.run(main())
    """
)


def start_worker(tmp_path: Path, name: str, *, peers: int, mode: str = "work", lease: float = 10.0):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ready = tmp_path / "ready"
    ready.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    args = [str(tmp_path / "jobs.db"), str(log), str(ready), str(peers), mode, str(lease)]
    return subprocess.Popen([sys.executable, str(script), *args]), log


async def submit(db: Path, count: int) -> list[str]:
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    await migrate(engine)
    queue = JobQueue(engine)
    ids = [await queue.submit("work", {"n": n}) for n in range(count)]
    await engine.dispose()
    return ids


async def test_two_worker_processes_on_one_sqlite_file_run_each_job_exactly_once(tmp_path):
    ids = await submit(tmp_path / "jobs.db", 150)
    workers = [start_worker(tmp_path, f"w{i}", peers=2) for i in range(2)]
    try:
        codes = [await asyncio.to_thread(process.wait, 120) for process, _ in workers]
    finally:
        for process, _ in workers:
            if process.poll() is None:
                process.kill()
    runs = [log.read_text().split() for _, log in workers]
    counts = Counter(job_id for run in runs for job_id in run)
    assert codes == [0, 0]
    assert set(counts) == set(ids) and set(counts.values()) == {1}, (
        "each job ran in exactly one process, once"
    )
    assert all(runs), f"both processes ran jobs: {[len(r) for r in runs]}"


async def test_a_killed_workers_job_is_taken_over_after_its_lease_expires(tmp_path):
    (job_id,) = await submit(tmp_path / "jobs.db", 1)
    process, log = start_worker(tmp_path, "doomed", peers=1, mode="hang", lease=1.0)
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text().strip()):
            assert time.monotonic() < deadline and process.poll() is None, "the worker never started the job"
            await asyncio.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    queue = JobQueue(engine)
    left_behind = await queue.get(job_id)
    ran: list[int] = []

    async def handler(job: Job) -> str:
        ran.append(job.attempts)
        return "finished by the restarted worker"

    queue.register("work", handler)
    runner = JobRunner(queue, poll_interval=0.05)
    await runner.start()
    try:
        deadline = time.monotonic() + 15
        while (await queue.get(job_id)).status is not JobStatus.succeeded:
            assert time.monotonic() < deadline, "the job was never taken over"
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
        await engine.dispose()
    assert left_behind.status is JobStatus.running and left_behind.attempts == 1
    assert ran == [2]
