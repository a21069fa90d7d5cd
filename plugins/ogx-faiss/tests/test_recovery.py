"""After a crash, `inline::faiss` catches its graph up with the store from the last snapshot
(replaying only what changed since), answers exactly as an index that never crashed, never
brings a deleted chunk back, and rebuilds in full only when the snapshot is unusable."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from ogx_api import ProviderUnavailable
from ogx_api.testing.vector_io import ids
from ogx_api.vector_io import Chunk, ComparisonFilter, VectorQuery
from ogx_faiss.config import FaissConfig
from ogx_faiss.provider import FaissVectorIO

DIMENSION = 16
INDEX = "vs_recovery"
WORDS = ["apple", "banana", "cherry", "delta", "echo", "falcon", "garden", "harbour", "island", "jungle"]


def chunks(start: int, count: int, seed: int = 0) -> list[Chunk]:
    """Chunks `c<start>`…; each one's text and embedding depend only on its number and `seed`."""
    out = []
    for n in range(start, start + count):
        rng = np.random.default_rng([seed, n])
        out.append(
            Chunk(
                chunk_id=f"c{n}",
                content=" ".join(rng.choice(WORDS, size=5)),
                embedding=rng.standard_normal(DIMENSION).tolist(),
                file_id=f"f{n // 10}",
                attributes={"file": float(n // 10)},
            )
        )
    return out


def queries(count: int = 8) -> list[VectorQuery]:
    rng = np.random.default_rng(99)
    out = []
    for i in range(count):
        embedding = rng.standard_normal(DIMENSION).tolist()
        text = " ".join(rng.choice(WORDS, size=2))
        out.append(VectorQuery(embedding=embedding, k=20))
        out.append(VectorQuery(mode="keyword", text=text, k=20))
        out.append(VectorQuery(mode="hybrid", embedding=embedding, text=text, k=20))
        out.append(
            VectorQuery(
                embedding=embedding, k=5, filters=ComparisonFilter(type="gte", key="file", value=float(i))
            )
        )
    return out


async def started(directory: Path, **settings: object) -> FaissVectorIO:
    provider = FaissVectorIO(FaissConfig(storage_dir=directory, **settings))  # type: ignore[arg-type]
    await provider.start()
    return provider


async def answers(provider: FaissVectorIO) -> list[list[tuple[str, float]]]:
    return [
        [(hit.chunk.chunk_id, round(hit.score, 5)) for hit in await provider.query(INDEX, query)]
        for query in queries()
    ]


async def snapshot_then_crash(directory: Path, before: list[Chunk], **settings: object) -> FaissVectorIO:
    """A provider that took a snapshot of `before` and has not closed since: whatever it writes
    next is known only to the store when the next provider opens the index (as after a crash)."""
    first = await started(directory, **settings)
    await first.create_index(INDEX, DIMENSION)
    await first.insert(INDEX, before)
    await first.close()
    return await started(directory, **settings)


async def clean_answers(directory: Path, final: list[Chunk]) -> list[list[tuple[str, float]]]:
    clean = await started(directory)
    await clean.create_index(INDEX, DIMENSION)
    await clean.insert(INDEX, final)
    try:
        return await answers(clean)
    finally:
        await clean.close()


async def snapshots_written() -> None:
    for _ in range(500):
        if not any(t.name.startswith("faiss-snapshot") for t in threading.enumerate()):
            return
        await asyncio.sleep(0.01)
    pytest.fail("a background snapshot is still being written after 5 s")


def recovery_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ogx_faiss.recovery"]


async def test_inserts_after_the_snapshot_are_replayed_and_answer_like_a_clean_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = await snapshot_then_crash(tmp_path / "crashed", chunks(0, 200))
    for start in (200, 230, 260):
        await crashed.insert(INDEX, chunks(start, 30))
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    survivor = await started(tmp_path / "crashed")
    recovered = await answers(survivor)
    assert (
        "replayed" in recovery_log(caplog)[0]
        and "(90 chunks added, 0 removed, 290 live)" in recovery_log(caplog)[0]
    )
    assert recovered == await clean_answers(tmp_path / "clean", chunks(0, 290))
    await survivor.close()


async def test_replayed_chunks_are_found_through_the_graph(tmp_path: Path) -> None:
    crashed = await snapshot_then_crash(tmp_path, chunks(0, 150), exact_search_max=0)
    await crashed.insert(INDEX, chunks(150, 100))
    survivor = await started(tmp_path, exact_search_max=0)
    for chunk in chunks(0, 250)[::7]:
        hits = await survivor.query(INDEX, VectorQuery(embedding=chunk.embedding, k=1))
        assert ids(hits) == [chunk.chunk_id]
    await survivor.close()


async def test_chunks_deleted_or_replaced_after_the_snapshot_never_come_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = await snapshot_then_crash(tmp_path / "crashed", chunks(0, 200))
    await crashed.delete_file(INDEX, "f3")  # c30..c39
    await crashed.delete_chunks(INDEX, ["c0", "c150"])
    replacement = chunks(77, 1, seed=1)  # c77 with another text and embedding
    await crashed.insert(INDEX, replacement)
    final = [c for c in chunks(0, 200) if c.file_id != "f3" and c.chunk_id not in ("c0", "c150", "c77")]
    final += replacement
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")

    recovered = []
    for _ in range(2):  # recovered, then closed (a fresh snapshot) and opened again
        survivor = await started(tmp_path / "crashed")
        everything = await survivor.query(INDEX, VectorQuery(embedding=[1.0] * DIMENSION, k=1000))
        assert sorted(ids(everything)) == sorted(c.chunk_id for c in final)
        found = await survivor.query(INDEX, VectorQuery(embedding=replacement[0].embedding, k=1))
        assert ids(found) == ["c77"] and found[0].chunk.content == replacement[0].content
        recovered.append(await answers(survivor))
        await survivor.close()
    assert "(1 chunks added, 13 removed, 188 live)" in recovery_log(caplog)[0]
    assert len(recovery_log(caplog)) == 1  # the second opening found a current snapshot
    assert recovered == [await clean_answers(tmp_path / "clean", final)] * 2


async def test_a_missing_snapshot_after_a_crash_is_rebuilt_in_full(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = await snapshot_then_crash(tmp_path / "crashed", chunks(0, 100))
    await crashed.insert(INDEX, chunks(100, 50))
    await crashed.delete_chunks(INDEX, ["c5"])
    (tmp_path / "crashed" / f"{INDEX}.faiss.npz").unlink()
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    survivor = await started(tmp_path / "crashed")
    recovered = await answers(survivor)
    assert "rebuilt" in recovery_log(caplog)[0]
    final = [c for c in chunks(0, 150) if c.chunk_id != "c5"]
    assert recovered == await clean_answers(tmp_path / "clean", final)
    await survivor.close()


async def test_a_snapshot_of_another_database_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An index deleted and created again under the same id starts its labels afresh: the old
    index's snapshot (restored from a backup, say) must not be mistaken for the new one's."""
    old = await started(tmp_path)
    await old.create_index(INDEX, DIMENSION)
    await old.insert(INDEX, chunks(0, 100))
    await old.close()
    shutil.copy(tmp_path / f"{INDEX}.faiss.npz", tmp_path / "old.npz")
    new = await started(tmp_path)
    await new.delete_index(INDEX)
    await new.create_index(INDEX, DIMENSION)
    await new.insert(INDEX, chunks(0, 100, seed=5))  # same ids and labels, other vectors
    shutil.copy(tmp_path / "old.npz", tmp_path / f"{INDEX}.faiss.npz")  # and no snapshot of its own
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    reopened = await started(tmp_path)
    recovered = await answers(reopened)
    assert "rebuilt" in recovery_log(caplog)[0]
    assert recovered == await clean_answers(tmp_path / "clean", chunks(0, 100, seed=5))
    await reopened.close()


async def test_snapshots_are_taken_in_the_background_so_a_crash_replays_little(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = await started(tmp_path, snapshot_every=100)
    await crashed.create_index(INDEX, DIMENSION)
    for start in range(0, 250, 25):
        await crashed.insert(INDEX, chunks(start, 25))
        await snapshots_written()  # a write still running when the next is due would skip that one
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    survivor = await started(tmp_path, snapshot_every=100)
    everything = await survivor.query(INDEX, VectorQuery(embedding=[1.0] * DIMENSION, k=1000))
    assert len(everything) == 250
    assert "(50 chunks added, 0 removed, 250 live)" in recovery_log(caplog)[0]  # snapshot at 200
    await survivor.close()


async def test_writes_racing_background_snapshots_are_all_recovered(tmp_path: Path) -> None:
    crashed = await started(tmp_path / "crashed", snapshot_every=30)
    await crashed.create_index(INDEX, DIMENSION)
    for start in range(0, 300, 20):  # a snapshot due every other batch, not waited for
        await crashed.insert(INDEX, chunks(start, 20))
        await crashed.delete_chunks(INDEX, [f"c{start}"])
    await snapshots_written()
    survivor = await started(tmp_path / "crashed")
    final = [c for c in chunks(0, 300) if int(c.chunk_id[1:]) % 20]
    assert await answers(survivor) == await clean_answers(tmp_path / "clean", final)
    await survivor.close()


async def test_requests_arriving_during_recovery_share_one_opening(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = await snapshot_then_crash(tmp_path, chunks(0, 100))
    await crashed.insert(INDEX, chunks(100, 100))
    caplog.set_level(logging.INFO, logger="ogx_faiss.recovery")
    survivor = await started(tmp_path)
    first, *others = await asyncio.gather(*(survivor.query(INDEX, q) for q in queries()[:6]))
    assert len(first) == 20 and all(others)
    assert len(recovery_log(caplog)) == 1
    await survivor.close()


async def test_a_request_waits_for_recovery_at_most_open_wait_seconds(tmp_path: Path) -> None:
    crashed = await snapshot_then_crash(tmp_path, chunks(0, 100))
    await crashed.insert(INDEX, chunks(100, 100))
    impatient = await started(tmp_path, open_wait_seconds=0)
    with pytest.raises(ProviderUnavailable, match="still being opened"):
        await impatient.query(INDEX, queries()[0])
    for _ in range(200):  # the opening went on: a retry succeeds once it is done
        try:
            assert len(await impatient.query(INDEX, queries()[0])) == 20
            break
        except ProviderUnavailable:
            await asyncio.sleep(0.05)
    else:
        pytest.fail("the index never finished opening")
    await impatient.close()


_INGEST_UNTIL_KILLED = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_recovery import INDEX, DIMENSION, chunks, started

async def main():
    provider = await started(Path({directory!r}))
    for start in range(100, 1000, 20):
        await provider.insert(INDEX, chunks(start, 20))
        print(start + 20, flush=True)  # committed
        await asyncio.sleep(0.01)

asyncio.run(main())
"""


async def test_kill_9_mid_ingestion_loses_no_committed_chunk(tmp_path: Path) -> None:
    await (await snapshot_then_crash(tmp_path, chunks(0, 100))).close()
    script = _INGEST_UNTIL_KILLED.format(tests=str(Path(__file__).parent), directory=str(tmp_path))
    child = subprocess.Popen(  # noqa: ASYNC220 (reads its output line by line, as a test may)
        [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    committed = 0
    while committed < 300:
        committed = int(child.stdout.readline() or 0) or pytest.fail("the ingesting child died")
    child.send_signal(signal.SIGKILL)
    child.wait()
    survivor = await started(tmp_path)
    everything = ids(await survivor.query(INDEX, VectorQuery(embedding=[1.0] * DIMENSION, k=1000)))
    assert set(everything) >= {f"c{i}" for i in range(committed)}
    assert len(everything) % 20 == 0  # whole batches: each insert is one transaction
    await survivor.close()
