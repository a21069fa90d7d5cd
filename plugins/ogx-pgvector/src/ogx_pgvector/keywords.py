"""The BM25 keyword index of a `remote::pgvector` index, kept in PostgreSQL.

Next to the chunk table `<table>` (which has each chunk's BM25 `length`): `<table>_postings`
(term, chunk_id, tf, length; primary key (term, chunk_id) covering tf and length, so a term's
postings are one index-only range scan) and `<table>_terms` (document frequency per term); the
chunk count and total length are columns of `ogx_vector_indexes`. Terms are
`ogx_api.vector_io.document_terms` / `query_terms`, so scores equal `inline::faiss`'s. Every
function here runs inside the caller's transaction, under the index's advisory lock, so the
postings and statistics change atomically with the chunks.
"""

from __future__ import annotations

from typing import Any

from asyncpg.pool import PoolConnectionProxy

from ogx_api.vector_io import BM25_B, BM25_K1, document_terms

UPGRADE_BATCH = 1000


def tables_sql(table: str) -> str:
    return f"""
        CREATE TABLE {table}_postings (
            term text NOT NULL,
            chunk_id text NOT NULL,
            tf integer NOT NULL,
            length integer NOT NULL,
            PRIMARY KEY (term, chunk_id) INCLUDE (tf, length)
        );
        CREATE INDEX ON {table}_postings (chunk_id);
        CREATE TABLE {table}_terms (term text PRIMARY KEY, df integer NOT NULL);
    """


class Postings:
    """Postings of a set of chunks, as parallel columns for one `unnest` insert."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.chunk_ids: list[str] = []
        self.frequencies: list[int] = []
        self.lengths: list[int] = []
        self.chunks = 0
        self.total_length = 0

    def add(self, chunk_id: str, content: str) -> int:
        """Add a chunk's postings; its BM25 length."""
        length, frequencies = document_terms(content)
        self.chunks += 1
        self.total_length += length
        for term, count in frequencies.items():
            self.terms.append(term)
            self.chunk_ids.append(chunk_id)
            self.frequencies.append(count)
            self.lengths.append(length)
        return length


async def post(connection: PoolConnectionProxy, index_id: str, table: str, postings: Postings) -> None:
    """Add postings (of chunks just inserted) and count them in the statistics."""
    await connection.execute(
        f"""WITH posted AS (
                INSERT INTO {table}_postings (term, chunk_id, tf, length)
                SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[])
                RETURNING term)
            INSERT INTO {table}_terms AS t (term, df)
            SELECT term, count(*) FROM posted GROUP BY term ORDER BY term
            ON CONFLICT (term) DO UPDATE SET df = t.df + excluded.df""",
        postings.terms,
        postings.chunk_ids,
        postings.frequencies,
        postings.lengths,
    )
    await connection.execute(
        """UPDATE ogx_vector_indexes SET chunk_count = chunk_count + $2,
               total_length = total_length + $3 WHERE index_id = $1""",
        index_id,
        postings.chunks,
        postings.total_length,
    )


async def remove(
    connection: PoolConnectionProxy, index_id: str, table: str, condition: str, value: Any
) -> None:
    """Delete the chunks matching `condition` (on `$1` = `value`) with their postings, and take
    them out of the statistics."""
    await connection.execute(
        f"""WITH gone AS (DELETE FROM {table} WHERE {condition} RETURNING chunk_id, length),
            counted AS (
                UPDATE ogx_vector_indexes SET chunk_count = chunk_count - (SELECT count(*) FROM gone),
                    total_length = total_length - (SELECT coalesce(sum(length), 0) FROM gone)
                WHERE index_id = $2),
            unposted AS (
                DELETE FROM {table}_postings AS p USING gone WHERE p.chunk_id = gone.chunk_id
                RETURNING p.term)
            UPDATE {table}_terms AS t SET df = t.df - u.n
            FROM (SELECT term, count(*) AS n FROM unposted GROUP BY term) AS u WHERE t.term = u.term""",
        value,
        index_id,
    )


def search_sql(table: str, columns: str, condition: str | None, k: int) -> str:
    """The best `k` chunks for the terms `$1` in index `$2`, with `columns` and `score`.
    `condition` (a filter on the chunk table, parameters from `$3`) joins the chunk table for
    every posting; without one, only postings are read until the best `k` are known.

    BM25 = Σ idf·tf·(k1+1) / (tf + k1·(1-b) + k1·b·length/average): per term a weight and two
    constants, so each posting costs a few float8 operations (numeric literals made PostgreSQL
    compute in `numeric`, which doubled the query time at 100k chunks)."""
    filtered = f"JOIN {table} AS c ON c.chunk_id = p.chunk_id WHERE {condition}" if condition else ""
    return f"""
        WITH weights AS (
            SELECT t.term,
                ln(1 + (s.chunk_count - t.df + 0.5::float8) / (t.df + 0.5::float8))
                    * {BM25_K1 + 1}::float8 AS weight,
                {BM25_K1 * (1 - BM25_B)}::float8 AS base,
                {BM25_K1 * BM25_B}::float8 * greatest(s.chunk_count, 1)
                    / greatest(s.total_length, 1)::float8 AS per_word
            FROM {table}_terms AS t, ogx_vector_indexes AS s
            WHERE s.index_id = $2 AND t.term = ANY($1::text[]) AND t.df > 0),
        best AS (
            SELECT p.chunk_id, sum(w.weight * p.tf / (p.tf + w.base + w.per_word * p.length)) AS score
            FROM weights AS w JOIN {table}_postings AS p ON p.term = w.term {filtered}
            GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT {int(k)})
        SELECT {columns}, best.score FROM best JOIN {table} USING (chunk_id)
        ORDER BY best.score DESC, chunk_id"""


async def upgrade(connection: PoolConnectionProxy, index_id: str, table: str) -> None:
    """Give an index created before the BM25 tables (with a `tsvector` column) its keyword
    index, from the stored text."""
    await connection.execute(f"ALTER TABLE {table} ADD COLUMN length integer; {tables_sql(table)}")
    last = ""
    while True:
        rows = await connection.fetch(
            f"SELECT chunk_id, content FROM {table} WHERE chunk_id > $1 ORDER BY chunk_id LIMIT {UPGRADE_BATCH}",
            last,
        )
        if not rows:
            break
        postings = Postings()
        lengths = [postings.add(row["chunk_id"], row["content"]) for row in rows]
        await connection.execute(
            f"""UPDATE {table} AS c SET length = u.length
                FROM unnest($1::text[], $2::integer[]) AS u(chunk_id, length) WHERE c.chunk_id = u.chunk_id""",
            [row["chunk_id"] for row in rows],
            lengths,
        )
        await post(connection, index_id, table, postings)
        last = rows[-1]["chunk_id"]
    await connection.execute(
        f"ALTER TABLE {table} ALTER COLUMN length SET NOT NULL, DROP COLUMN IF EXISTS tsv"
    )
