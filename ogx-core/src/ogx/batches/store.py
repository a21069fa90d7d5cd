"""The `batches` table: each batch's object as GET returns it, its owner and its status. Every
change is conditional on the status it expects, so a cancellation and the running job never
overwrite each other. One store per `kind` ("openai", "anthropic"): each sees only its own rows;
an Anthropic batch also keeps its requests and, once ended, its results on the row."""

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
    def __init__(self, engine: AsyncEngine, kind: str = "openai") -> None:
        self._engine = engine
        self._kind = kind

    def _mine(self, batch_id: str, owner: str | None) -> tuple[sa.ColumnElement[bool], ...]:
        return (
            _table.c.id == batch_id,
            _table.c.kind == self._kind,
            _table.c.owner.is_not_distinct_from(owner),
        )

    async def insert(
        self,
        batch: dict[str, Any],
        *,
        owner: str | None,
        created_at_ns: int,
        also: Callable[[AsyncConnection], Awaitable[Any]],
        requests: list[Any] | None = None,
    ) -> None:
        """Write a new batch, and in the same transaction what `also` writes (its job)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                _table.insert().values(
                    id=batch["id"],
                    created_at=created_at_ns,
                    owner=owner,
                    status=_status(batch),
                    batch=batch,
                    kind=self._kind,
                    requests=requests,
                )
            )
            await also(conn)

    async def get(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        return dict(await self._column(_table.c.batch, batch_id, owner))

    async def requests(self, batch_id: str, owner: str | None) -> list[Any]:
        return list(await self._column(_table.c.requests, batch_id, owner) or [])

    async def results(self, batch_id: str, owner: str | None) -> list[Any]:
        return list(await self._column(_table.c.results, batch_id, owner) or [])

    async def _column(self, column: sa.Column[Any], batch_id: str, owner: str | None) -> Any:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(sa.select(_table.c.id, column).where(*self._mine(batch_id, owner)))
            ).first()
        if found is None:
            raise NotFound(f"batch {batch_id!r} not found", param="batch_id")
        return found[1]

    async def list(
        self,
        *,
        owner: str | None,
        after: str | None,
        limit: int,
        before: str | None = None,
        max_limit: int = 100,
    ) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            return await page(
                conn,
                _table,
                where=[_table.c.kind == self._kind, _table.c.owner.is_not_distinct_from(owner)],
                after=after,
                before=before,
                limit=limit,
                max_limit=max_limit,
                order="desc",
                render=lambda row: dict(row.batch),
            )

    async def delete(self, batch_id: str, owner: str | None, *, only_if: Collection[str]) -> bool:
        """Delete the batch if its status is one of `only_if`."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                _table.delete().where(*self._mine(batch_id, owner), _table.c.status.in_(list(only_if)))
            )
            return done.rowcount == 1

    async def update(
        self,
        batch_id: str,
        owner: str | None,
        changes: dict[str, Any],
        *,
        only_if: Collection[str],
        results: list[Any] | None = None,
    ) -> dict[str, Any] | None:
        """Apply `changes` to the batch if its status is one of `only_if`; the batch as it is
        now, or None when its status was another (it was cancelled, or finished, meanwhile)."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(_table.c.status, _table.c.batch).where(*self._mine(batch_id, owner))
                )
            ).first()
            if row is None or row.status not in only_if:
                return None
            batch = {**row.batch, **changes}
            values: dict[str, Any] = {"status": _status(batch), "batch": batch}
            if results is not None:
                values["results"] = results
            done = await conn.execute(
                _table.update().where(_table.c.id == batch_id, _table.c.status == row.status).values(**values)
            )
            return batch if done.rowcount == 1 else None


def _status(batch: dict[str, Any]) -> str:
    """OpenAI's `status`, Anthropic's `processing_status`."""
    return batch["status"] if "status" in batch else batch["processing_status"]
