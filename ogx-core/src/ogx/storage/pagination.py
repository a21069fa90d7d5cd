"""Cursor pagination the OpenAI way: `after` (an object id), `limit`, `order` by creation time,
returning `data`, `first_id`, `last_id`, `has_more`. Keyset-based, so it stays correct and fast
as tables grow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ogx_api import InvalidRequest, NotFound

Order = Literal["asc", "desc"]
MAX_LIMIT = 100


def check_limit(limit: int, max_limit: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= max_limit:
        raise InvalidRequest(f"limit must be between 1 and {max_limit}, got {limit}", param="limit")
    return limit


async def page(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    where: Sequence[sa.ColumnElement[bool]],
    after: str | None,
    limit: int,
    order: Order,
    render: Callable[[Any], dict[str, Any]],
    created: str = "created_at",
    max_limit: int = MAX_LIMIT,
    before: str | None = None,
) -> dict[str, Any]:
    """A page in `order`: the `limit` objects following `after`, or with only `before`, the
    `limit` objects preceding it (`has_more` then tells whether more precede them)."""
    check_limit(limit, max_limit)
    created_col, id_col = table.c[created], table.c.id
    position = sa.tuple_(created_col, id_col)
    query = sa.select(table).where(*where)
    for cursor_id, name, forward in ((after, "after", True), (before, "before", False)):
        if cursor_id is None:
            continue
        cursor = (
            await conn.execute(sa.select(created_col).where(id_col == cursor_id, *where))
        ).scalar_one_or_none()
        if cursor is None:
            raise NotFound(f"no object {cursor_id!r} to page {name}", param=name)
        later = (order == "asc") == forward
        query = query.where(position > (cursor, cursor_id) if later else position < (cursor, cursor_id))
    backwards = before is not None and after is None
    ascending = (order == "asc") != backwards
    ordering = (created_col.asc(), id_col.asc()) if ascending else (created_col.desc(), id_col.desc())
    rows = (await conn.execute(query.order_by(*ordering).limit(limit + 1))).all()
    kept = rows[:limit]
    if backwards:
        kept.reverse()
    data = [render(row) for row in kept]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(rows) > limit,
    }
