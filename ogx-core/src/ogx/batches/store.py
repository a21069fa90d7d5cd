"""The `batches` table: each batch's object as GET returns it, its owner and its status. Every
change is conditional on the status it expects, so a cancellation and the running job never
overwrite each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.storage import tables
from ogx.storage.pagination import page
from ogx_api import NotFound

_table = tables.batches


class BatchStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(
        self,
        batch: dict[str, Any],
        *,
        owner: str | None,
        created_at_ns: int,
        also: Callable[[AsyncConnection], Awaitable[Any]],
    ) -> None:
        """Write a new batch, and in the same transaction what `also` writes (its job)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                _table.insert().values(
                    id=batch["id"], created_at=created_at_ns, owner=owner, status=batch["status"], batch=batch
                )
            )
            await also(conn)

    async def get(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    sa.select(_table.c.batch).where(
                        _table.c.id == batch_id, _table.c.owner.is_not_distinct_from(owner)
                    )
                )
            ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"batch {batch_id!r} not found", param="batch_id")
        return dict(found)

    async def list(self, *, owner: str | None, after: str | None, limit: int) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            return await page(
                conn,
                _table,
                where=[_table.c.owner.is_not_distinct_from(owner)],
                after=after,
                limit=limit,
                order="desc",
                render=lambda row: dict(row.batch),
            )

    async def update(
        self, batch_id: str, owner: str | None, changes: dict[str, Any], *, only_if: Collection[str]
    ) -> dict[str, Any] | None:
        """Apply `changes` to the batch if its status is one of `only_if`; the batch as it is
        now, or None when its status was another (it was cancelled, or finished, meanwhile)."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(_table.c.status, _table.c.batch).where(
                        _table.c.id == batch_id, _table.c.owner.is_not_distinct_from(owner)
                    )
                )
            ).first()
            if row is None or row.status not in only_if:
                return None
            batch = {**row.batch, **changes}
            done = await conn.execute(
                _table.update()
                .where(_table.c.id == batch_id, _table.c.status == row.status)
                .values(status=batch["status"], batch=batch)
            )
            return batch if done.rowcount == 1 else None
