"""Stored chat completions (`store: true`): written off the request path, listed, read,
updated and deleted per owner."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.storage import tables
from ogx.storage.pagination import Order, page
from ogx.stores.writer import BackgroundWriter
from ogx_api import NotFound
from ogx_api.inference.assembly import with_required_fields

_table = tables.chat_completions


class ChatCompletionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = BackgroundWriter(self._insert)

    async def start(self) -> None:
        self._writer.start()

    async def close(self) -> None:
        await self._writer.close()

    def save(
        self,
        completion: dict[str, Any],
        input_messages: list[dict[str, Any]],
        metadata: dict[str, str] | None,
        owner: str | None,
    ) -> None:
        self._writer.submit(
            {
                "id": completion["id"],
                "created_at": time.time_ns(),
                "model": completion.get("model") or "",
                "owner": owner,
                "metadata": metadata or {},
                "input_messages": input_messages,
                "completion": completion,
            }
        )

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_table.insert(), rows)

    async def get(self, completion_id: str, owner: str | None) -> dict[str, Any]:
        return _render(await self._row(completion_id, owner))

    async def list(
        self,
        *,
        owner: str | None,
        after: str | None,
        limit: int,
        order: Order,
        model: str | None,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        await self._writer.flush()
        where = [_table.c.owner.is_not_distinct_from(owner)]
        if model:
            where.append(_table.c.model == model)
        where += [_table.c.metadata[key].as_string() == value for key, value in metadata.items()]
        async with self._engine.connect() as conn:
            return await page(
                conn, _table, where=where, after=after, limit=limit, order=order, render=_render
            )

    async def messages(
        self, completion_id: str, *, owner: str | None, after: str | None, limit: int, order: Order
    ) -> dict[str, Any]:
        row = await self._row(completion_id, owner)
        messages = [_stored_message(f"{completion_id}-{i}", m) for i, m in enumerate(row.input_messages)]
        if order == "desc":
            messages.reverse()
        if after is not None:
            ids = [m["id"] for m in messages]
            if after not in ids:
                raise NotFound(f"no message {after!r} in chat completion {completion_id!r}", param="after")
            messages = messages[ids.index(after) + 1 :]
        data = messages[:limit]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(messages) > limit,
        }

    async def update_metadata(
        self, completion_id: str, metadata: dict[str, str], owner: str | None
    ) -> dict[str, Any]:
        row = await self._row(completion_id, owner)
        async with self._engine.begin() as conn:
            await conn.execute(_table.update().where(_table.c.id == row.id).values(metadata=metadata))
        return await self.get(completion_id, owner)

    async def delete(self, completion_id: str, owner: str | None) -> dict[str, Any]:
        row = await self._row(completion_id, owner)
        async with self._engine.begin() as conn:
            await conn.execute(_table.delete().where(_table.c.id == row.id))
        return {"object": "chat.completion.deleted", "id": completion_id, "deleted": True}

    async def _row(self, completion_id: str, owner: str | None) -> Any:
        await self._writer.flush()
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(_table).where(
                        _table.c.id == completion_id, _table.c.owner.is_not_distinct_from(owner)
                    )
                )
            ).first()
        if row is None:
            raise NotFound(f"chat completion {completion_id!r} not found", param="completion_id")
        return row


def _render(row: Any) -> dict[str, Any]:
    # Completions stored before the router filled OpenAI's always-present fields get them here.
    return {**with_required_fields(row.completion), "metadata": row.metadata}


def _stored_message(message_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """An input message as OpenAI lists it: text in `content`, the parts (if sent) in
    `content_parts`, `refusal` always present."""
    stored = {"id": message_id, "refusal": None, **message}
    content = message.get("content")
    if isinstance(content, list):
        texts = [part["text"] for part in content if part.get("type") == "text"]
        stored["content"] = "\n".join(texts) if texts else None
        stored["content_parts"] = content
    else:
        stored["content"] = content
        stored["content_parts"] = None
    return stored
