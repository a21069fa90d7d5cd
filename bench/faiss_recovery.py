"""Crash recovery of `inline::faiss`: time to the first search after a crash, with the last
snapshot behind the store (replay) and without a snapshot (full rebuild).

    .venv/bin/python bench/faiss_recovery.py                   # 100k chunks, 5k after the snapshot
    .venv/bin/python bench/faiss_recovery.py --chunks 20000 --extra 2000

An ingesting subprocess inserts `chunks - extra` chunks (the corpus of `bench/vector_io.py`),
closes its provider (which writes the snapshot), opens a new one, inserts `extra` more chunks and
deletes one file's chunks, says so, and goes on inserting until it is killed with SIGKILL. Each
measurement then opens a copy of its directory in a fresh subprocess and times the first vector
query (the index is opened on first use), while a ticker task on the event loop records the
longest stall; a third copy is first opened and closed cleanly (a current snapshot: a normal
restart). Figures go to stdout and to `bench/results/faiss_recovery.json`; `--keep DIR` keeps
the crashed directory.

    .venv/bin/python bench/faiss_recovery.py --warm-start      # clean restarts, warm start off/on

`--warm-start` instead measures the first search after a clean restart, with `warm_start` off and
on: a subprocess inserts `chunks` chunks and closes its provider; each case then starts a provider
over the directory in a fresh subprocess, counts it ready when `start()` returns (as the server's
lifespan does), waits `--idle` seconds (the time before the first request comes) and times the
first vector query. Figures go to `bench/results/faiss_warm_start.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "faiss_recovery.json"
WARM_RESULTS = RESULTS.with_name("faiss_warm_start.json")
INDEX = "vs_recovery"


def provider_for(directory: Path, warm_start: bool = True) -> Any:
    from ogx_faiss.config import FaissConfig
    from ogx_faiss.provider import FaissVectorIO

    # A request would get 503 after `open_wait_seconds` (30 s) and retry; here the first one waits.
    config = FaissConfig(storage_dir=directory, open_wait_seconds=3600, warm_start=warm_start)
    return FaissVectorIO(config)


async def ingest(directory: Path, chunks: int, extra: int) -> None:
    from vector_io import BATCH, DIMENSION, Corpus

    corpus, inserted = Corpus(), 0
    first = provider_for(directory)
    await first.start()
    await first.create_index(INDEX, DIMENSION)
    while inserted < chunks - extra:
        batch = corpus.chunks(inserted, min(BATCH, chunks - extra - inserted))
        await first.insert(INDEX, batch)
        inserted += len(batch)
    await first.close()  # the snapshot
    second = provider_for(directory)
    await second.start()
    while inserted < chunks:
        batch = corpus.chunks(inserted, min(BATCH, chunks - inserted))
        await second.insert(INDEX, batch)
        inserted += len(batch)
    await second.delete_file(INDEX, "file-0")
    print("ready", flush=True)
    while True:  # mid-ingestion when the SIGKILL comes
        batch = corpus.chunks(inserted, BATCH)
        await second.insert(INDEX, batch)
        inserted += len(batch)


async def build(directory: Path, chunks: int) -> None:
    from vector_io import BATCH, DIMENSION, Corpus

    corpus, provider = Corpus(), provider_for(directory)
    await provider.start()
    await provider.create_index(INDEX, DIMENSION)
    for start in range(0, chunks, BATCH):
        await provider.insert(INDEX, corpus.chunks(start, min(BATCH, chunks - start)))
    await provider.close()


async def restart(directory: Path, warm_start: bool, idle: float) -> dict[str, Any]:
    """Seconds to ready, then, `idle` seconds later, the first and second query's milliseconds."""
    from vector_io import Corpus

    from ogx_api.vector_io import VectorQuery

    query = VectorQuery(embedding=Corpus(seed=11).query_vector(), k=10)
    provider = provider_for(directory, warm_start)
    started = time.perf_counter()
    await provider.start()
    ready = time.perf_counter() - started
    await asyncio.sleep(idle)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        await provider.query(INDEX, query)
        timings.append((time.perf_counter() - started) * 1000)
    await provider.close()
    return {"ready_s": ready, "first_search_ms": timings[0], "second_search_ms": timings[1]}


def run_warm_start(chunks: int, idle: float) -> None:
    load_before = os.getloadavg()
    cases = [("off", idle), ("on", idle), ("on", 0.0)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ogx-bench-faiss-warm-") as workdir:
        directory = Path(workdir) / "index"
        started = time.perf_counter()
        phase("build", directory, "--chunks", str(chunks))
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
        for warm, wait in cases:
            output = phase("restart", directory, "--warm", warm, "--idle", str(wait))
            rows.append({"warm_start": warm, "idle_s": wait, **json.loads(output.strip().splitlines()[-1])})
            print(rows[-1], flush=True)
    table = ["| warm_start | idle after ready s | ready s | first search ms | second search ms |"]
    table += [
        f"| {row['warm_start']} | {row['idle_s']:.0f} | {row['ready_s']:.3f} "
        f"| {row['first_search_ms']:.1f} | {row['second_search_ms']:.2f} |"
        for row in rows
    ]
    report(WARM_RESULTS, table, load_before, {"chunks": chunks, "rows": rows})


def report(results: Path, table: list[str], load_before: tuple[float, ...], record: dict[str, Any]) -> None:
    """Print the table (its header first) and the load; write `record`, dated, with the load."""
    load = {"before": load_before, "after": os.getloadavg()}
    print(table[0])
    print("|---|" + "---:|" * (table[0].count("|") - 2))
    print("\n".join(table[1:]))
    print(f"load average (1, 5, 15 min) before {load['before']}, after {load['after']}")
    results.parent.mkdir(parents=True, exist_ok=True)
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results.write_text(json.dumps({"date": date, **record, "load_average": load}, indent=2))


async def open_and_close(directory: Path) -> None:
    from ogx_api.vector_io import VectorQuery

    provider = provider_for(directory)
    await provider.start()
    await provider.query(INDEX, VectorQuery(mode="keyword", text="x", k=1))
    await provider.close()


async def first_search(directory: Path) -> dict[str, Any]:
    """Seconds from opening the provider to the first query's answer, and the event loop's
    longest stall meanwhile."""
    import logging

    from vector_io import Corpus

    from ogx_api.vector_io import VectorQuery

    logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("faiss").setLevel(logging.WARNING)
    query = VectorQuery(embedding=Corpus(seed=11).query_vector(), k=10)
    stall, running = 0.0, True

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.01)
            last = now

    ticking = asyncio.create_task(ticker())
    provider = provider_for(directory)
    started = time.perf_counter()
    await provider.start()
    hits = await provider.query(INDEX, query)
    first = time.perf_counter() - started
    started = time.perf_counter()
    await provider.query(INDEX, query)
    second = time.perf_counter() - started
    running = False
    await ticking
    return {
        "first_search_s": first,
        "second_search_ms": second * 1000,
        "loop_stall_max_s": stall,
        "hits": len(hits),
    }


def crashed_directory(root: Path, chunks: int, extra: int) -> tuple[Path, float]:
    """A directory left by an ingestion killed with SIGKILL, and the seconds it took to build."""
    directory = root / "crashed"
    started = time.perf_counter()
    command = [sys.executable, __file__, "--phase", "ingest", "--dir", str(directory)]
    child = subprocess.Popen(
        [*command, "--chunks", str(chunks), "--extra", str(extra)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        raise SystemExit("the ingesting subprocess failed")
    time.sleep(1.0)  # a few more batches, the last one maybe half-done
    child.send_signal(signal.SIGKILL)
    child.wait()
    return directory, time.perf_counter() - started


def phase(name: str, directory: Path, *arguments: str) -> str:
    command = [sys.executable, __file__, "--phase", name, "--dir", str(directory), *arguments]
    return subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout


def run(chunks: int, extra: int, keep: Path | None) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ogx-bench-faiss-recovery-") as workdir:
        directory, build_seconds = crashed_directory(Path(workdir), chunks, extra)
        print(f"built and killed in {build_seconds:.0f} s", flush=True)
        rows: dict[str, dict[str, Any]] = {}
        cases = ["replay (snapshot behind the store)", "full rebuild (no snapshot)", "clean restart"]
        for name in cases:
            copy = Path(workdir) / f"copy-{len(rows)}"
            shutil.copytree(directory, copy)
            if name.startswith("full rebuild"):
                for snapshot in copy.glob("*.faiss.npz"):
                    snapshot.unlink()
            elif name == "clean restart":
                phase("close", copy)
            rows[name] = json.loads(phase("open", copy).strip().splitlines()[-1])
            print(f"{name}: {rows[name]}", flush=True)
            shutil.rmtree(copy)
        if keep is not None:
            shutil.copytree(directory, keep)
    table = ["| case | first search s | second search ms | longest event-loop stall s |"]
    table += [
        f"| {name} | {row['first_search_s']:.2f} | {row['second_search_ms']:.2f} "
        f"| {row['loop_stall_max_s']:.3f} |"
        for name, row in rows.items()
    ]
    report(RESULTS, table, load_before, {"chunks": chunks, "extra": extra, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks when killed (default 100000)")
    parser.add_argument("--extra", type=int, default=5_000, help="of them after the snapshot (default 5000)")
    parser.add_argument("--keep", type=Path, help="copy the crashed directory here")
    parser.add_argument("--warm-start", action="store_true", help="clean restarts, warm start off and on")
    parser.add_argument(
        "--idle", type=float, default=3.0, help="--warm-start: seconds from ready to the first query (3)"
    )
    parser.add_argument("--warm", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--phase", choices=["ingest", "open", "close", "build", "restart"], help=argparse.SUPPRESS
    )
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "ingest":
        asyncio.run(ingest(args.dir, args.chunks, args.extra))
    elif args.phase == "open":
        print(json.dumps(asyncio.run(first_search(args.dir))))
    elif args.phase == "close":
        asyncio.run(open_and_close(args.dir))
    elif args.phase == "build":
        asyncio.run(build(args.dir, args.chunks))
    elif args.phase == "restart":
        print(json.dumps(asyncio.run(restart(args.dir, args.warm == "on", args.idle))))
    elif args.warm_start:
        run_warm_start(args.chunks, args.idle)
    else:
        run(args.chunks, args.extra, args.keep)


if __name__ == "__main__":
    main()
