"""`remote::pgvector` keyword scores are Okapi BM25 over the chunks present now: replacements and
deletions keep the postings, document frequencies, chunk count and total length exact, and an
index created before the BM25 tables gets them at start."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ogx_api.vector_io import (
    BM25_B,
    BM25_K1,
    Chunk,
    VectorQuery,
    bm25_idf,
    document_terms,
    query_terms,
)
from ogx_pgvector.config import PGVectorConfig
from ogx_pgvector.provider import PGVectorIO, table_name

pytestmark = pytest.mark.integration


def reference_scores(texts: dict[str, str], query: str) -> dict[str, float]:
    """BM25 of `query` over `texts`, from first principles, normalised by the best score."""
    documents = {chunk_id: document_terms(text) for chunk_id, text in texts.items()}
    average = sum(length for length, _ in documents.values()) / len(documents)
    scores: dict[str, float] = {}
    for term in query_terms(query):
        df = sum(1 for _, frequencies in documents.values() if term in frequencies)
        for chunk_id, (length, frequencies) in documents.items():
            tf = frequencies.get(term, 0)
            if tf:
                weight = tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
                scores[chunk_id] = scores.get(chunk_id, 0.0) + bm25_idf(len(documents), df) * weight
    best = max(scores.values())
    return {chunk_id: score / best for chunk_id, score in scores.items()}


def chunk(chunk_id: str, text: str, file_id: str) -> Chunk:
    return Chunk(chunk_id=chunk_id, content=text, embedding=[1.0, 0.0], file_id=file_id)


async def test_keyword_scores_follow_replacements_and_deletions(ogx_postgres_database: str) -> None:
    provider = PGVectorIO(PGVectorConfig(dsn=SecretStr(ogx_postgres_database), pool_max_size=2))
    await provider.start()
    try:
        await provider.create_index("vs_bm25", 2)
        await provider.insert(
            "vs_bm25",
            [
                chunk("a", "Dogs barked at the red fox", "f1"),
                chunk("b", "a dog and a dog and a cat", "f1"),
                chunk("c", "the fox jumped over the lazy dogs twice", "f2"),
                chunk("d", "foxes are red; dogs are loyal; cats are not", "f2"),
                chunk("e", "nothing relevant here at all", "f3"),
                chunk("e", "a lone fox", "f3"),  # the last of a repeated id wins
            ],
        )
        await provider.insert("vs_bm25", [chunk("c", "a fox and more fox, no canine", "f2")])  # replace
        await provider.delete_chunks("vs_bm25", ["a"])
        await provider.insert("vs_bm25", [chunk("g", "dog dog dog", "f4"), chunk("h", "cats only", "f4")])
        await provider.delete_file("vs_bm25", "f4")
        texts = {
            "b": "a dog and a dog and a cat",
            "c": "a fox and more fox, no canine",
            "d": "foxes are red; dogs are loyal; cats are not",
            "e": "a lone fox",
        }
        for query in ("dog fox", "barking dogs", "cat", "red foxes"):
            hits = await provider.query("vs_bm25", VectorQuery(mode="keyword", text=query, k=10))
            expected = reference_scores(texts, query)
            assert {h.chunk.chunk_id: pytest.approx(h.score) for h in hits} == expected, query
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert await provider.query("vs_bm25", VectorQuery(mode="keyword", text="relevant", k=10)) == []
    finally:
        await provider.close()


async def test_an_index_from_before_bm25_gets_its_keyword_index_at_start(ogx_postgres_database: str) -> None:
    config = PGVectorConfig(dsn=SecretStr(ogx_postgres_database), pool_max_size=2)
    texts = {f"c{i}": text for i, text in enumerate(["red foxes", "a dog and a dog", "the fox and the dogs"])}
    old = PGVectorIO(config)
    await old.start()
    try:
        table = table_name("vs_old")
        async with old._connection() as connection:  # the schema of the tsvector version
            await connection.execute(f"""
                CREATE TABLE {table} (chunk_id text PRIMARY KEY, file_id text, content text NOT NULL,
                    attributes jsonb NOT NULL, metadata jsonb NOT NULL, embedding vector(2) NOT NULL,
                    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED);
                INSERT INTO ogx_vector_indexes (index_id, table_name, dimension) VALUES ('vs_old', '{table}', 2);
            """)
            await connection.executemany(
                f"INSERT INTO {table} VALUES ($1, 'f', $2, '{{}}', '{{}}', '[1,0]')", list(texts.items())
            )
    finally:
        await old.close()
    provider = PGVectorIO(config)
    await provider.start()
    try:
        hits = await provider.query("vs_old", VectorQuery(mode="keyword", text="dog fox", k=10))
        assert {h.chunk.chunk_id: pytest.approx(h.score) for h in hits} == reference_scores(texts, "dog fox")
        await provider.insert("vs_old", [chunk("c3", "one more fox", "g")])
        texts["c3"] = "one more fox"
        hits = await provider.query("vs_old", VectorQuery(mode="keyword", text="dog fox", k=10))
        assert {h.chunk.chunk_id: pytest.approx(h.score) for h in hits} == reference_scores(texts, "dog fox")
    finally:
        await provider.close()
