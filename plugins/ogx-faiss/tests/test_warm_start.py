"""`warm_start`: after a restart, `inline::faiss` opens every stored index in the background,
without delaying readiness; requests share an opening in progress, a stop abandons it cleanly,
and an index that cannot be opened is logged and tried again on first use."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from test_recovery import DIMENSION, INDEX, chunks, recovery_log, started

from ogx_api import HealthState, ProviderUnavailable
from ogx_api.testing.vector_io import ids
from ogx_api.vector_io import VectorQuery
from ogx_faiss.provider import FaissVectorIO

SMALL = "vs_small"
BIG = 20_000  # chunks in INDEX: rebuilding it takes a while (0.6 s here), in ten batches
EVERYTHING = VectorQuery(embedding=[1.0] * DIMENSION, k=1000)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """INDEX (BIG chunks, no snapshot: opening it rebuilds it) written after SMALL (30 chunks)."""
    directory = tmp_path_factory.mktemp("stored")

    async def build() -> None:
        provider = await started(directory)
        await provider.create_index(SMALL, DIMENSION)
        await provider.insert(SMALL, chunks(0, 30))
        await provider.create_index(INDEX, DIMENSION)
        await provider.insert(INDEX, chunks(0, BIG))
        await provider.close()

    asyncio.run(build())
    (directory / f"{INDEX}.faiss.npz").unlink()
    os.utime(directory / f"{SMALL}.sqlite", (1e9, 1e9))
    os.utime(directory / f"{INDEX}.sqlite", (2e9, 2e9))
    return directory


@pytest.fixture
def restarted(stored: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(stored, tmp_path / "copy"))


async def opening(provider: FaissVectorIO, index_id: str) -> None:
    """Once the warm-up is opening `index_id`."""
    for _ in range(1000):
        if index_id in provider._opening:
            return
        await asyncio.sleep(0.005)
    pytest.fail(f"the warm-up never started opening {index_id}")


async def test_after_a_restart_every_stored_index_is_open_without_a_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    odd = "../an id that is no file name"  # stored under a hashed name
    first = await started(tmp_path)
    for index_id in (INDEX, SMALL, odd):
        await first.create_index(index_id, DIMENSION)
    await first.insert(INDEX, chunks(0, 50))
    await first.close()  # snapshots
    crashed = await started(tmp_path, warm_start=False)  # never closed
    for n, index_id in enumerate((INDEX, odd, SMALL)):  # each behind its snapshot: replayed
        await crashed.insert(index_id, chunks(100 + n, 1))
        await asyncio.sleep(0.01)  # distinct modification times: SMALL was written last
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")

    warm = await started(tmp_path, open_wait_seconds=0)  # a request for an unopened index: 503
    assert warm.warm_up_task is not None
    await warm.warm_up_task
    lines = recovery_log(caplog)
    assert [line.split(":")[0] for line in lines] == [f"vector index {i}" for i in (SMALL, odd, INDEX)]
    assert len(await warm.query(INDEX, EVERYTHING)) == 51
    assert ids(await warm.query(odd, EVERYTHING)) == ["c101"]
    assert ids(await warm.query(SMALL, EVERYTHING)) == ["c102"]
    assert len(recovery_log(caplog)) == 3  # nothing opened again
    await warm.close()


async def test_with_warm_start_off_an_index_opens_on_its_first_request(restarted: Path) -> None:
    cold = await started(restarted, open_wait_seconds=0, warm_start=False)
    await asyncio.sleep(0.2)
    with pytest.raises(ProviderUnavailable, match="still being opened"):
        await cold.query(SMALL, EVERYTHING)
    await cold.close()


async def test_start_does_not_wait_for_the_warm_up_and_requests_meanwhile_are_served(
    restarted: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    began = time.perf_counter()
    provider = await started(restarted)
    ready_after = time.perf_counter() - began
    await opening(provider, INDEX)  # the most recently written first
    small = await provider.query(SMALL, EVERYTHING)  # not reached yet: opened at once
    assert len(small) == 30
    assert provider.warm_up_task is not None and not provider.warm_up_task.done()
    big = await provider.query(INDEX, VectorQuery(embedding=[1.0] * DIMENSION, k=10))
    assert len(big) == 10
    [line] = recovery_log(caplog)  # the request shared the warm-up's opening
    assert line.startswith(f"vector index {INDEX}: rebuilt in")
    assert ready_after < float(line.split(" in ")[1].split(" s ")[0])
    await provider.warm_up_task
    assert len(recovery_log(caplog)) == 1  # SMALL, opened by its request, was not opened again
    await provider.close()


async def test_stopping_during_the_warm_up_abandons_the_opening_cleanly(
    restarted: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ogx_faiss")
    provider = await started(restarted)
    await opening(provider, INDEX)
    waiting = asyncio.create_task(provider.query(INDEX, EVERYTHING))
    await asyncio.sleep(0.01)
    await provider.close()
    with pytest.raises(ProviderUnavailable, match="shutting down"):
        await waiting
    assert [r.getMessage() for r in caplog.records] == []  # no error, and no rebuild finished
    assert provider._opening == {} and provider._indexes == {}

    again = await started(restarted)  # nothing was left half-written
    assert len(await again.query(INDEX, VectorQuery(embedding=[1.0] * DIMENSION, k=10))) == 10
    assert len(await again.query(SMALL, EVERYTHING)) == 30
    await again.close()


async def test_an_index_that_fails_to_open_during_the_warm_up_is_tried_again_on_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = await started(tmp_path)
    for index_id in (SMALL, "vs_broken"):
        await first.create_index(index_id, DIMENSION)
        await first.insert(index_id, chunks(0, 30))
    await first.close()
    database = tmp_path / "vs_broken.sqlite"
    intact = database.read_bytes()
    database.write_bytes(b"not a database " * 100)

    provider = await started(tmp_path)
    assert provider.warm_up_task is not None
    await provider.warm_up_task
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage() == (
        "vector index vs_broken could not be opened ahead of use (tried again on first use): "
        "DatabaseError: file is not a database"
    )
    assert len(await provider.query(SMALL, EVERYTHING)) == 30
    health = await provider.health()
    assert health.status == HealthState.error
    assert (
        health.message
        == "1 vector index(es) could not be opened: vs_broken (DatabaseError: file is not a database)"
    )
    database.write_bytes(intact)  # repaired
    assert len(await provider.query("vs_broken", EVERYTHING)) == 30
    assert (await provider.health()).status == HealthState.ok
    await provider.close()


async def test_the_warm_up_order_is_by_last_write_and_survives_reading_hashed_names(tmp_path: Path) -> None:
    odd = "an id with spaces"  # stored under a hashed name: listing reads the id from the database
    first = await started(tmp_path, warm_start=False)
    for index_id in (odd, SMALL):
        await first.create_index(index_id, DIMENSION)
    await first.close()
    hashed, _ = first._paths(odd)
    assert hashed.name.startswith("h-")
    os.utime(hashed, (1e9, 1e9))
    os.utime(tmp_path / f"{SMALL}.sqlite", (1.5e9, 1.5e9))  # both long ago
    for _ in range(2):  # the first listing's read-only connection must not make `odd` look new
        assert first._stored_index_ids() == [SMALL, odd]
