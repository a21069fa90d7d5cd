"""Vector-io bench: ingestion throughput and search latency of `inline::faiss` and
`remote::pgvector`, in process, embeddings excluded.

    .venv/bin/python bench/vector_io.py                       # 10k and 100k chunks, both providers
    .venv/bin/python bench/vector_io.py --sizes 10000 --providers faiss --queries 100

Chunks: random unit vectors (384 dimensions, scattered around 1,000 random topic centres) and ~60 words of synthetic text drawn from a
Zipf-distributed vocabulary of 10,000 words, 100 chunks per file (attributes per file).
Ingestion inserts batches of 500 chunks through the provider API (`chunks/s` includes
indexing: HNSW insertion, SQLite or PostgreSQL with its HNSW index and BM25 postings). Each size
is reached by inserting into the same index (10k first, then 90k more). Queries run one at a
time: random unit vectors drawn the same way (`vector`; recall@10 against the exact top-10), three words of mid frequency (`keyword`), both
(`hybrid`, rrf); `k` = 10. PostgreSQL is the test cluster of `ogx_api.testing.postgres`
(PostgreSQL 18 + pgvector, fsync off). Figures go to stdout as a Markdown table and to
`bench/results/vector_io.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from ogx_api.vector_io import Chunk, VectorIOProvider, VectorQuery

DIMENSION = 384
VOCABULARY = 10_000
WORDS_PER_CHUNK = 60
CHUNKS_PER_FILE = 100
BATCH = 500
K = 10
TOPICS = 1000
NOISE = 0.06  # per coordinate: a chunk's cosine to its topic centre is about 0.65
RESULTS = Path(__file__).parent / "results" / "vector_io.json"


def words(count: int) -> list[str]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    out = []
    for i in range(count):
        parts, n = [], i + 1
        while n:
            n, r = divmod(n, len(consonants) * len(vowels))
            parts.append(consonants[r % len(consonants)] + vowels[r // len(consonants)])
        out.append("".join(parts) + "x")
    return out


class Corpus:
    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocabulary = words(VOCABULARY)
        weights = 1.0 / np.arange(1, VOCABULARY + 1)
        self.weights = weights / weights.sum()
        centres = self.rng.standard_normal((TOPICS, DIMENSION)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.vectors: list[np.ndarray] = []  # every inserted vector, for the exact top-k

    def chunks(self, start: int, count: int) -> list[Chunk]:
        vectors = self._clustered(count)
        self.vectors.append(vectors)
        picks = self.rng.choice(VOCABULARY, size=(count, WORDS_PER_CHUNK), p=self.weights)
        out = []
        for i in range(count):
            n = start + i
            file_no = n // CHUNKS_PER_FILE
            out.append(
                Chunk(
                    chunk_id=f"chunk-{n}",
                    content=" ".join(self.vocabulary[w] for w in picks[i]),
                    embedding=vectors[i].tolist(),
                    file_id=f"file-{file_no}",
                    attributes={"file_no": float(file_no), "lang": "en" if file_no % 2 else "fr"},
                )
            )
        return out

    def recall(self, queries: list[VectorQuery], results: list[list[str]]) -> float:
        """Mean share of the exact top-k (by brute force) among the hits."""
        matrix = np.concatenate(self.vectors)
        found = 0
        for query, hits in zip(queries, results, strict=True):
            scores = matrix @ np.array(query.embedding, dtype=np.float32)
            exact = {f"chunk-{i}" for i in np.argpartition(-scores, query.k)[: query.k]}
            found += len(exact & set(hits))
        return found / (len(queries) * K)

    def query_vector(self) -> list[float]:
        return self._clustered(1)[0].tolist()

    def _clustered(self, count: int) -> np.ndarray:
        """Unit vectors around random topic centres: i.i.d. uniform vectors in 384 dimensions
        are all nearly equidistant, which no embedding model produces and no ANN index can
        search meaningfully (HNSW recall@10 ≈ 0.15 at 100k on them)."""
        topics = self.rng.integers(0, len(self.centres), size=count)
        noise = self.rng.standard_normal((count, DIMENSION)).astype(np.float32) * NOISE
        vectors = self.centres[topics] + noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def query_text(self) -> str:
        return " ".join(self.vocabulary[w] for w in self.rng.integers(100, 5000, size=3))


@contextlib.asynccontextmanager
async def faiss_provider(workdir: Path) -> AsyncIterator[VectorIOProvider]:
    from ogx_faiss.config import FaissConfig
    from ogx_faiss.provider import FaissVectorIO

    provider = FaissVectorIO(FaissConfig(storage_dir=workdir / "faiss"))
    await provider.start()
    try:
        yield provider
    finally:
        await provider.close()


@contextlib.asynccontextmanager
async def pgvector_provider(workdir: Path) -> AsyncIterator[VectorIOProvider]:
    from pydantic import SecretStr

    from ogx_api.testing.postgres import run_postgres
    from ogx_pgvector.config import PGVectorConfig
    from ogx_pgvector.provider import PGVectorIO

    with run_postgres(settings={"shared_buffers": "512MB", "maintenance_work_mem": "512MB"}) as server:
        database = server.create_database()
        provider = PGVectorIO(PGVectorConfig(dsn=SecretStr(server.url_for(database))))
        await provider.start()
        try:
            yield provider
        finally:
            await provider.close()


async def bulk_load_pgvector(provider: Any, index_id: str, corpus: Corpus, start: int, end: int) -> None:
    from ogx_pgvector.provider import table_name

    table = table_name(index_id)
    async with provider._pool.acquire() as connection:
        await connection.execute(f"DROP INDEX {table}_embedding_idx")
    started = time.perf_counter()
    for first in range(start, end, BATCH):
        await provider.insert(index_id, corpus.chunks(first, min(BATCH, end - first)))
    loaded = time.perf_counter()
    async with provider._pool.acquire() as connection:
        await connection.execute("SET maintenance_work_mem = '1GB'")
        await connection.execute(
            f"CREATE INDEX {table}_embedding_idx ON {table} USING hnsw (embedding vector_cosine_ops)"
        )
        await connection.execute(f"ANALYZE {table}, {table}_postings, {table}_terms")
    print(
        f"pgvector bulk load: {end - start} rows in {loaded - started:.0f} s, "
        f"HNSW build {time.perf_counter() - loaded:.0f} s",
        flush=True,
    )


PROVIDERS = {"faiss": faiss_provider, "pgvector": pgvector_provider}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def latencies(
    provider: VectorIOProvider, index_id: str, queries: list[VectorQuery]
) -> tuple[dict[str, float], list[list[str]]]:
    for query in queries[:20]:  # warm-up
        await provider.query(index_id, query)
    times, results = [], []
    for query in queries:
        started = time.perf_counter()
        hits = await provider.query(index_id, query)
        times.append((time.perf_counter() - started) * 1000)
        results.append([h.chunk.chunk_id for h in hits])
    figures = {
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "mean_ms": statistics.fmean(times),
    }
    return figures, results


async def bench_provider(
    name: str, sizes: list[int], query_count: int, workdir: Path
) -> list[dict[str, Any]]:
    corpus = Corpus()
    rows: list[dict[str, Any]] = []
    async with PROVIDERS[name](workdir) as provider:
        index_id = "vs_bench"
        await provider.create_index(index_id, DIMENSION)
        inserted, insert_seconds = 0, 0.0
        ingest_rate: float | None = None
        for size in sizes:
            if inserted and name == "pgvector":
                # pgvector inserts into its HNSW graph row by row (~60 rows/s on this loaded
                # machine): past the first size, load without the index and build it at once,
                # as an operator would for a bulk import. Ingestion is reported for the first size.
                await bulk_load_pgvector(provider, index_id, corpus, inserted, size)
                inserted, ingest_rate = size, None
            while inserted < size:
                batch = corpus.chunks(inserted, min(BATCH, size - inserted))
                started = time.perf_counter()
                await provider.insert(index_id, batch)
                insert_seconds += time.perf_counter() - started
                inserted += len(batch)
                ingest_rate = inserted / insert_seconds
            print(f"{name}: {inserted} chunks, inserted at {ingest_rate or 0:.0f} chunks/s", flush=True)
            queries = {
                "vector": [VectorQuery(embedding=corpus.query_vector(), k=K) for _ in range(query_count)],
                "keyword": [
                    VectorQuery(mode="keyword", text=corpus.query_text(), k=K) for _ in range(query_count)
                ],
                "hybrid": [
                    VectorQuery(mode="hybrid", embedding=corpus.query_vector(), text=corpus.query_text(), k=K)
                    for _ in range(query_count)
                ],
            }
            row: dict[str, Any] = {
                "provider": name,
                "chunks": size,
                "ingest_chunks_per_s": ingest_rate,  # None: bulk-loaded
            }
            for mode, mode_queries in queries.items():
                row[mode], results = await latencies(provider, index_id, mode_queries)
                if mode == "vector":
                    row["recall_at_10"] = corpus.recall(mode_queries, results)
                print(f"{name} {size} {mode}: {row[mode]}", flush=True)
            rows.append(row)
    return rows


def _rate(rate: float | None) -> str:
    return "bulk load" if rate is None else f"{rate:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| provider | chunks | ingest chunks/s | vector p50 / p99 ms | recall@10 | keyword p50 / p99 ms "
        "| hybrid p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        vector, keyword, hybrid = (
            f"{r[m]['p50_ms']:.2f} / {r[m]['p99_ms']:.2f}" for m in ("vector", "keyword", "hybrid")
        )
        lines.append(
            f"| {r['provider']} | {r['chunks']:,} | {_rate(r['ingest_chunks_per_s'])} | {vector} "
            f"| {r['recall_at_10']:.3f} | {keyword} | {hybrid} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000", help="index sizes, ascending (default 10000,100000)"
    )
    parser.add_argument("--providers", default="faiss,pgvector")
    parser.add_argument("--queries", type=int, default=300, help="queries per mode and size (default 300)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ogx-bench-vector-") as workdir:
        for name in args.providers.split(","):
            rows += await bench_provider(name, sizes, args.queries, Path(workdir))
    load = {"before": load_before, "after": os.getloadavg()}  # the machine may be shared: say how busy
    print(table(rows))
    print(f"load average (1, 5, 15 min) before {load['before']}, after {load['after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.write_text(json.dumps({"date": date, "load_average": load, "rows": rows}, indent=2))


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so the PostgreSQL cluster is stopped and removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main())
