"""Vector-store ingestion throughput with the embedding included: `ogx run` with the embedded
all-MiniLM-L6-v2 (`inline::minilm`) and FAISS (`inline::faiss`); files uploaded, attached as one
file batch, and timed from the batch's creation until it completes (extraction, token chunking,
embedding through the inference router, indexing, bookkeeping).

    uv run python bench/ingestion.py [--files 40] [--tokens-per-file 2000]

A benchmark, not a test: it prints a table and writes bench/results/ingestion.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import httpx
from procs import start_ogx

HERE = Path(__file__).resolve().parent
WORDS = [
    "river",
    "bread",
    "orbit",
    "jazz",
    "lantern",
    "harbor",
    "copper",
    "meadow",
    "signal",
    "glacier",
    "violin",
    "pepper",
    "canyon",
    "thunder",
    "marble",
    "falcon",
    "engine",
    "ribbon",
    "velvet",
    "compass",
    "tunnel",
    "orchard",
    "quartz",
    "saddle",
]
STRATEGIES = {
    "auto (800/400)": None,
    "static 200/50": {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}},
}


def document(seed: int, tokens: int) -> bytes:
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) * 1.3 < tokens:
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return " ".join(sentences).encode()


def ingest(client: httpx.Client, file_ids: list[str], strategy: dict | None) -> dict[str, float]:
    store = client.post("/v1/vector_stores", json={"name": "bench"}).json()
    body: dict = {"file_ids": file_ids}
    if strategy is not None:
        body["chunking_strategy"] = strategy
    started = time.perf_counter()
    batch = client.post(f"/v1/vector_stores/{store['id']}/file_batches", json=body).json()
    while batch["status"] == "in_progress":
        time.sleep(0.05)
        batch = client.get(f"/v1/vector_stores/{store['id']}/file_batches/{batch['id']}").json()
    elapsed = time.perf_counter() - started
    assert batch["file_counts"]["completed"] == len(file_ids), batch
    chunks = sum(
        len(client.get(f"/v1/vector_stores/{store['id']}/files/{f}/content").json()["data"]) for f in file_ids
    )
    result = {"files": len(file_ids), "chunks": chunks, "seconds": elapsed, "chunks_per_s": chunks / elapsed}
    result.update(search_latency(client, store["id"]))
    client.delete(f"/v1/vector_stores/{store['id']}")
    return result


def search_latency(client: httpx.Client, store_id: str, rounds: int = 30) -> dict[str, float]:
    """p50/p99 in ms of `POST …/search` through the server, the query's embedding included."""
    out = {}
    rng = random.Random(7)
    for mode in ("vector", "hybrid"):
        samples = []
        for _ in range(rounds):
            query = " ".join(rng.choice(WORDS) for _ in range(6))
            started = time.perf_counter()
            response = client.post(
                f"/v1/vector_stores/{store_id}/search", json={"query": query, "search_mode": mode}
            )
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and response.json()["data"], response.text
        samples.sort()
        out[f"{mode}_p50_ms"] = samples[len(samples) // 2]
        out[f"{mode}_p99_ms"] = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return out


def direct_windows_per_s(documents: list[bytes]) -> float:
    """all-MiniLM-L6-v2 called directly in this process on the windows ingestion embeds (a sample
    of 64): the ceiling ingestion is measured against."""
    import asyncio

    from ogx.file_processing import process
    from ogx.vector_stores.embedding import WINDOW_SHARE, windows
    from ogx_api.inference import EmbeddingsRequest
    from ogx_minilm.config import MiniLMConfig
    from ogx_minilm.provider import MiniLMEmbeddingsProvider

    async def run() -> float:
        provider = MiniLMEmbeddingsProvider(MiniLMConfig())
        await provider.start()
        try:
            size = int(provider.config.max_tokens * WINDOW_SHARE)
            chunks = [c.text for d in documents for c in process(d, "doc.txt", None, None)]
            sample = [w for chunk in chunks for w in windows(chunk, size)][:64]
            request = EmbeddingsRequest(model=provider.config.model_id, input=sample[:4])
            await provider.embeddings(request)  # warm-up
            started = time.perf_counter()
            await provider.embeddings(EmbeddingsRequest(model=provider.config.model_id, input=sample))
            return len(sample) / (time.perf_counter() - started)
        finally:
            await provider.close()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--tokens-per-file", type=int, default=2000)
    args = parser.parse_args()
    documents = [document(i, args.tokens_per_file) for i in range(args.files)]
    with tempfile.TemporaryDirectory(prefix="ogx-bench-ingest-") as tmp:
        process, base = start_ogx(
            Path(tmp),
            "version: 2\nname: bench-ingestion\nproviders:\n"
            "  inference:\n    - {provider_id: minilm, provider_type: 'inline::minilm', config: {}}\n"
            "  vector_io:\n    - {provider_id: faiss, provider_type: 'inline::faiss', config: {}}\n",
        )
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                file_ids = [
                    client.post(
                        "/v1/files",
                        files={"file": (f"doc{i}.txt", data, "text/plain")},
                        data={"purpose": "assistants"},
                    ).json()["id"]
                    for i, data in enumerate(documents)
                ]
                results = {name: ingest(client, file_ids, strategy) for name, strategy in STRATEGIES.items()}
        finally:
            process.terminate()
            process.wait(timeout=15)
    direct = direct_windows_per_s(documents)
    load = os.getloadavg()[0]
    print(f"{args.files} files of ~{args.tokens_per_file} tokens; load average {load:.2f}")
    print(f"MiniLM called directly: {direct:.1f} windows/s (a window: at most 179 cl100k tokens)")
    print(
        f"{'chunking':<16} {'chunks':>7} {'seconds':>8} {'chunks/s':>9}  search p50/p99 ms (vector, hybrid)"
    )
    for name, r in results.items():
        print(
            f"{name:<16} {r['chunks']:>7} {r['seconds']:>8.2f} {r['chunks_per_s']:>9.1f}  "
            f"{r['vector_p50_ms']:.1f}/{r['vector_p99_ms']:.1f}, {r['hybrid_p50_ms']:.1f}/{r['hybrid_p99_ms']:.1f}"
        )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "ingestion.json").write_text(
        json.dumps({"load_average": load, "direct_windows_per_s": direct, "results": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
