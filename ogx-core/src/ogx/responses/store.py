"""Stored responses, per owner: the object, its input items and the chat history a later
`previous_response_id` continues from.

A finished non-streamed response is written off the request path, in batches (`save_later`):
reads in the same worker flush first, and a read that misses waits briefly for a write another
worker may still have queued (a client often continues at once, possibly on another worker). A
streamed or background response is written as it goes, awaited (`insert`, `update`).

A background response's request is kept, encrypted (an MCP tool in it may carry credentials),
until the response finishes (`request_of`, `forget_request`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.encryption import SecretBox
from ogx.storage import tables
from ogx.storage.pagination import Order, page
from ogx.stores.writer import BackgroundWriter
from ogx_api import NotFound

_table = tables.responses
MISS_RETRIES = 5  # a read that misses looks again this many times,
MISS_WAIT = 0.02  # this many seconds apart, for a row another worker is still writing


def not_found(response_id: str, param: str = "response_id") -> NotFound:
    return NotFound(f"response {response_id!r} not found", param=param, code="not_found")


class ResponseStore:
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box
        self._writer = BackgroundWriter(self._insert_rows)

    async def start(self) -> None:
        self._writer.start()

    async def close(self) -> None:
        await self._writer.close()

    async def _insert_rows(self, rows: list[dict[str, Any]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_table.insert(), rows)

    def save_later(
        self,
        response: dict[str, Any],
        *,
        input_items: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        owner: str | None,
    ) -> None:
        self._writer.submit(_row(response, input_items, messages, owner))

    async def insert(
        self,
        response: dict[str, Any],
        *,
        input_items: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        owner: str | None,
        request: dict[str, Any] | None = None,
        job_id: str | None = None,
    ) -> None:
        sealed = None if request is None else self._box.seal(request, request_place(response["id"]))
        await self._insert_rows([_row(response, input_items, messages, owner, sealed, job_id)])

    def request_of(self, row: Any) -> dict[str, Any]:
        """The stored request of a background response (`SecretUnreadable` if this server's key
        did not encrypt it)."""
        return self._box.open(row.request, request_place(row.id), what=f"the request of response {row.id!r}")

    async def update(
        self,
        response: dict[str, Any],
        messages: list[dict[str, Any]] | None = None,
        *,
        unless: tuple[str, ...] = ("cancelled",),
        **columns: Any,
    ) -> bool:
        """Rewrite a stored response unless its stored status is one of `unless` (a cancelled
        response stays cancelled). Returns whether the row changed."""
        values: dict[str, Any] = {"status": response["status"], "response": response, **columns}
        if messages is not None:
            values["messages"] = messages
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _table.update()
                .where(_table.c.id == response["id"], _table.c.status.not_in(unless))
                .values(**values)
            )
        return bool(result.rowcount)

    async def set_job(self, response_id: str, job_id: str) -> None:
        """Record the job running a background response, leaving the response itself alone: the
        job may already have moved it on (`in_progress`, even `completed`)."""
        async with self._engine.begin() as conn:
            await conn.execute(_table.update().where(_table.c.id == response_id).values(job_id=job_id))

    async def forget_request(self, response_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_table.update().where(_table.c.id == response_id).values(request=None))

    async def get(self, response_id: str, owner: str | None, *, param: str = "response_id") -> Any:
        """The row (`.response`, `.input_items`, `.messages`, `.status`, `.request`, `.job_id`)."""
        await self._writer.flush()
        query = sa.select(_table).where(
            _table.c.id == response_id, _table.c.owner.is_not_distinct_from(owner)
        )
        for attempt in range(MISS_RETRIES + 1):
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
            if row is not None:
                return row
            if attempt < MISS_RETRIES:
                await asyncio.sleep(MISS_WAIT)
        raise not_found(response_id, param)

    async def get_any(self, response_id: str) -> Any:
        """The row whoever owns it (for a background job, which carries its owner itself)."""
        await self._writer.flush()
        async with self._engine.connect() as conn:
            return (await conn.execute(sa.select(_table).where(_table.c.id == response_id))).first()

    async def delete(self, response_id: str, owner: str | None) -> None:
        await self._writer.flush()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _table.delete().where(_table.c.id == response_id, _table.c.owner.is_not_distinct_from(owner))
            )
        if not result.rowcount:
            raise not_found(response_id)

    async def list(
        self, *, owner: str | None, after: str | None, limit: int, order: Order, model: str | None
    ) -> dict[str, Any]:
        await self._writer.flush()
        where = [_table.c.owner.is_not_distinct_from(owner)]
        if model is not None:
            where.append(_table.c.model == model)
        async with self._engine.connect() as conn:
            return await page(
                conn, _table, where=where, after=after, limit=limit, order=order, render=lambda r: r.response
            )


def request_place(response_id: str) -> str:
    """What a stored request is bound to (`SecretBox.seal`'s `where`)."""
    return f"responses.request:{response_id}"


def _row(
    response: dict[str, Any],
    input_items: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    owner: str | None,
    request: dict[str, Any] | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": response["id"],
        "created_at": time.time_ns(),
        "owner": owner,
        "model": response["model"],
        "status": response["status"],
        "response": response,
        "input_items": input_items,
        "messages": messages,
        "request": request,
        "job_id": job_id,
    }
