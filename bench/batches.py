"""Batches API throughput: `ogx run` in front of the scripted backend (its own process, answering
at once), one batch of chat requests timed from its creation until it reports `completed`
(validation of every line, the requests through the inference router at the configured
concurrency, the output file written through the Files API), against the same requests sent
straight to the backend at the same concurrency.

    uv run python bench/batches.py [--lines 2000] [--concurrency 8]

A benchmark, not a test: it prints a table and writes bench/results/batches.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from procs import free_port, port_open, start_ogx

HERE = Path(__file__).resolve().parent
MODEL = "scripted"


def body(i: int) -> dict:
    return {"model": f"scripted/{MODEL}", "messages": [{"role": "user", "content": f"question number {i}"}]}


async def direct(base_url: str, lines: int, concurrency: int) -> float:
    """Seconds for the same requests sent straight to the backend, `concurrency` at once."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(i: int) -> None:
            async with gate:
                response = await client.post("/chat/completions", json={**body(i), "model": MODEL})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(lines)))
        return time.perf_counter() - started


def through_batch(base: str, lines: int) -> dict[str, float]:
    content = "".join(
        json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body(i)})
        + "\n"
        for i in range(lines)
    ).encode()
    with httpx.Client(base_url=base, timeout=120) as client:
        file_id = client.post(
            "/v1/files", files={"file": ("in.jsonl", content)}, data={"purpose": "batch"}
        ).json()["id"]
        started = time.perf_counter()
        batch = client.post(
            "/v1/batches",
            json={"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        ).json()
        while batch["status"] not in ("completed", "failed", "cancelled"):
            time.sleep(0.05)
            batch = client.get(f"/v1/batches/{batch['id']}").json()
        elapsed = time.perf_counter() - started
    assert batch["status"] == "completed" and batch["request_counts"]["completed"] == lines, batch
    return {"seconds": elapsed, "lines_per_s": lines / elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    backend = subprocess.Popen(
        [sys.executable, "-m", "ogx_api.testing.scripted", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    try:
        while not port_open(port):
            time.sleep(0.05)
        backend_url = f"http://127.0.0.1:{port}/v1"
        config = (
            "version: 2\nname: bench-batches\nproviders:\n  inference:\n"
            f"    - {{provider_id: scripted, provider_type: 'remote::vllm', config: {{base_url: '{backend_url}'}}}}\n"
            f"batches: {{max_concurrency: {args.concurrency}}}\n"
        )
        with tempfile.TemporaryDirectory(prefix="ogx-bench-batches-") as tmp:
            server, base = start_ogx(Path(tmp), config)
            try:
                batch = through_batch(base, args.lines)
            finally:
                server.terminate()
                server.wait(timeout=15)
        straight = asyncio.run(direct(backend_url, args.lines, args.concurrency))
    finally:
        backend.terminate()
        backend.wait(timeout=15)
    load = os.getloadavg()[0]
    result = {
        "lines": args.lines,
        "concurrency": args.concurrency,
        "load_average": load,
        "batch": batch,
        "direct": {"seconds": straight, "lines_per_s": args.lines / straight},
    }
    print(f"{args.lines} chat requests, concurrency {args.concurrency}; load average {load:.2f}")
    print(f"through a batch:       {batch['seconds']:6.2f} s  {batch['lines_per_s']:7.1f} requests/s")
    print(f"straight to backend:   {straight:6.2f} s  {args.lines / straight:7.1f} requests/s")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "batches.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
