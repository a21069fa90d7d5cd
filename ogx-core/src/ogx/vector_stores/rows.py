"""Rows of the vector-store tables as OpenAI objects. File counts, usage and status are computed
from the files' rows when read, so they are exact by construction (no counters to drift)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.storage import tables

stores = tables.vector_stores
files = tables.vector_store_files
batches = tables.vector_store_file_batches
chunks = tables.vector_store_chunks

FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")
NS = 1_000_000_000


@asynccontextmanager
async def write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction; on SQLite it takes the write lock up front, so a read-then-write
    waits on the busy timeout instead of failing on a stale snapshot."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        async with conn.begin():
            yield conn


def empty_counts() -> dict[str, int]:
    return {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}


async def counts_by(
    conn: AsyncConnection, column: sa.Column[Any], keys: Sequence[str]
) -> dict[str, tuple[dict[str, int], int]]:
    """File counts and usage bytes per value of `column` (a store id or a batch id)."""
    out = {key: (empty_counts(), 0) for key in keys}
    if not keys:
        return out
    query = (
        sa.select(
            column, files.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(files.c.usage_bytes), 0)
        )
        .where(column.in_(keys))
        .group_by(column, files.c.status)
    )
    for key, status, count, usage in await conn.execute(query):
        counts, total_usage = out[key]
        counts[status] = count
        counts["total"] += count
        out[key] = (counts, total_usage + int(usage))
    return out


def store_object(row: Any, counts: dict[str, int], usage: int, now: int) -> dict[str, Any]:
    if row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    elif counts["in_progress"]:
        status = "in_progress"
    else:
        status = "completed"
    obj: dict[str, Any] = {
        "id": row.id,
        "object": "vector_store",
        "created_at": row.created_at // NS,
        "name": row.name,
        "usage_bytes": usage,
        "file_counts": counts,
        "status": status,
        "expires_at": row.expires_at,
        "last_active_at": row.last_active_at,
        "metadata": row.metadata,
    }
    if row.expires_after is not None:
        obj["expires_after"] = row.expires_after
    return obj


def file_object(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "vector_store.file",
        "usage_bytes": row.usage_bytes,
        "created_at": row.created_at // NS,
        "vector_store_id": row.vector_store_id,
        "status": row.status,
        "last_error": row.last_error,
        "chunking_strategy": row.chunking_strategy,
        "attributes": row.attributes,
    }


def batch_object(row: Any, counts: dict[str, int]) -> dict[str, Any]:
    if row.cancelled:
        status = "cancelled"
    elif counts["in_progress"]:
        status = "in_progress"
    elif counts["total"] and counts["failed"] == counts["total"]:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": row.id,
        "object": "vector_store.files_batch",
        "created_at": row.created_at // NS,
        "vector_store_id": row.vector_store_id,
        "status": status,
        "file_counts": counts,
    }
