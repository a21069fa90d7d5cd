"""The conversations service: conversations and their items, stored per owner. The routes use
it, and so does the Responses API (`get`, `items_for_context`, `append_items`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ogx.conversations.items import new_id, render, to_stored
from ogx.conversations.schemas import item_type_of, validate_input_items
from ogx.storage import tables
from ogx.storage.pagination import Order, page
from ogx_api import InvalidRequest, NotFound

MAX_ITEMS_PER_REQUEST = 20

_conversations = tables.conversations
_items = tables.conversation_items


class ConversationsService:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], int] = time.time_ns) -> None:
        """`clock` gives the time in nanoseconds."""
        self._engine = engine
        self.clock = clock

    # -- conversations --------------------------------------------------------------------------

    async def create(
        self, *, items: Sequence[Any] | None, metadata: dict[str, str] | None, owner: str | None
    ) -> dict[str, Any]:
        """Create a conversation with its first items (validated input items, at most 20)."""
        items = list(items or [])
        _check_count(items)
        validate_input_items(items, "items")
        row = {"id": new_id("conv"), "owner": owner, "created_at": self.clock(), "metadata": metadata or {}}
        async with self._engine.begin() as conn:
            stored = await self._resolve_references(conn, items, owner)
            await conn.execute(_conversations.insert().values(**row))
            await self._insert_items(conn, row["id"], stored, owner)
        return _conversation(row)

    async def get(self, conversation_id: str, owner: str | None) -> dict[str, Any]:
        """The conversation; `NotFound` if it doesn't exist for this owner."""
        async with self._engine.connect() as conn:
            return _conversation(await self._row(conn, conversation_id, owner))

    async def update(
        self, conversation_id: str, metadata: dict[str, str], owner: str | None
    ) -> dict[str, Any]:
        """Replace the conversation's metadata."""
        async with self._engine.begin() as conn:
            row = await self._row(conn, conversation_id, owner)
            await conn.execute(
                _conversations.update().where(_conversations.c.id == row.id).values(metadata=metadata)
            )
        return _conversation(row, metadata=metadata)

    async def delete(self, conversation_id: str, owner: str | None) -> dict[str, Any]:
        async with self._engine.begin() as conn:
            row = await self._row(conn, conversation_id, owner)
            await conn.execute(_items.delete().where(_items.c.conversation_id == row.id))
            await conn.execute(_conversations.delete().where(_conversations.c.id == row.id))
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    # -- items ----------------------------------------------------------------------------------

    async def add_items(
        self, conversation_id: str, items: Sequence[Any], owner: str | None, include: Collection[str] = ()
    ) -> dict[str, Any]:
        """Add validated input items (at most 20); the `ConversationItemList` of the new items."""
        items = list(items)
        _check_count(items)
        validate_input_items(items, "items")
        async with self._engine.begin() as conn:
            await self._row(conn, conversation_id, owner)
            stored = await self._resolve_references(conn, items, owner)
            await self._insert_items(conn, conversation_id, stored, owner)
        data = [render(item, include) for item in stored]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": False,
        }

    async def append_items(
        self, conversation_id: str, items: list[dict[str, Any]], owner: str | None
    ) -> list[dict[str, Any]]:
        """Append items in OpenAI's item shape (a response's input and output items), as one
        transaction; ids are assigned where missing. Returns the items as stored."""
        stored = [to_stored(item) for item in items]
        async with self._engine.begin() as conn:
            await self._row(conn, conversation_id, owner)
            await self._insert_items(conn, conversation_id, stored, owner)
        return stored

    async def items_for_context(self, conversation_id: str, owner: str | None) -> list[dict[str, Any]]:
        """Every item of the conversation, oldest first, in OpenAI's item shape."""
        async with self._engine.connect() as conn:
            await self._row(conn, conversation_id, owner)
            rows = await conn.execute(
                sa.select(_items.c.item)
                .where(_items.c.conversation_id == conversation_id)
                .order_by(_items.c.created_at, _items.c.id)
            )
            return [row.item for row in rows]

    async def list_items(
        self,
        conversation_id: str,
        *,
        owner: str | None,
        after: str | None,
        limit: int,
        order: Order,
        include: Collection[str] = (),
    ) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            await self._row(conn, conversation_id, owner)
            return await page(
                conn,
                _items,
                where=[_items.c.conversation_id == conversation_id],
                after=after,
                limit=limit,
                order=order,
                render=lambda row: render(row.item, include),
            )

    async def get_item(
        self, conversation_id: str, item_id: str, owner: str | None, include: Collection[str] = ()
    ) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            await self._row(conn, conversation_id, owner)
            item = (
                await conn.execute(
                    sa.select(_items.c.item).where(
                        _items.c.conversation_id == conversation_id, _items.c.id == item_id
                    )
                )
            ).scalar_one_or_none()
        if item is None:
            raise NotFound(f"item {item_id!r} not found in conversation {conversation_id!r}", param="item_id")
        return render(item, include)

    async def delete_item(self, conversation_id: str, item_id: str, owner: str | None) -> dict[str, Any]:
        """Delete one item; returns the conversation."""
        async with self._engine.begin() as conn:
            row = await self._row(conn, conversation_id, owner)
            deleted = (
                await conn.execute(
                    _items.delete().where(_items.c.conversation_id == row.id, _items.c.id == item_id)
                )
            ).rowcount
        if not deleted:
            raise NotFound(f"item {item_id!r} not found in conversation {conversation_id!r}", param="item_id")
        return _conversation(row)

    # -- internals ------------------------------------------------------------------------------

    async def _row(self, conn: AsyncConnection, conversation_id: str, owner: str | None) -> Any:
        row = (
            await conn.execute(
                sa.select(_conversations).where(
                    _conversations.c.id == conversation_id, _conversations.c.owner.is_not_distinct_from(owner)
                )
            )
        ).first()
        if row is None:
            raise NotFound(f"conversation {conversation_id!r} not found", param="conversation_id")
        return row

    async def _resolve_references(
        self, conn: AsyncConnection, items: list[Any], owner: str | None
    ) -> list[dict[str, Any]]:
        """Stored shapes of validated input items; an `item_reference` becomes a copy (with a
        new id) of the owner's item it names, from any of their conversations."""
        stored = []
        for index, item in enumerate(items):
            if item_type_of(item) != "item_reference":
                stored.append(to_stored(item))
                continue
            found = (
                await conn.execute(
                    sa.select(_items.c.item)
                    .where(_items.c.id == item["id"], _items.c.owner.is_not_distinct_from(owner))
                    .limit(1)
                )
            ).scalar_one_or_none()
            if found is None:
                raise NotFound(f"no item {item['id']!r} to reference", param=f"items[{index}].id")
            stored.append(to_stored({**found, "id": None}))
        return stored

    async def _insert_items(
        self, conn: AsyncConnection, conversation_id: str, stored: list[dict[str, Any]], owner: str | None
    ) -> None:
        if not stored:
            return
        # Items keep the order they were added in, even when the clock hasn't moved since the last.
        latest = (
            await conn.execute(
                sa.select(sa.func.max(_items.c.created_at)).where(_items.c.conversation_id == conversation_id)
            )
        ).scalar_one_or_none()
        start = max(self.clock(), (latest or 0) + 1)
        ids = [item["id"] for item in stored]
        if len(set(ids)) < len(ids):
            raise InvalidRequest("items: two items have the same id", param="items")
        rows = [
            {
                "conversation_id": conversation_id,
                "id": item["id"],
                "owner": owner,
                "created_at": start + offset,
                "item": item,
            }
            for offset, item in enumerate(stored)
        ]
        try:
            await conn.execute(_items.insert(), rows)
        except sa.exc.IntegrityError:
            raise InvalidRequest(
                f"items: an item with one of these ids is already in conversation {conversation_id!r}",
                param="items",
            ) from None


def _check_count(items: list[Any]) -> None:
    if len(items) > MAX_ITEMS_PER_REQUEST:
        raise InvalidRequest(
            f"items: at most {MAX_ITEMS_PER_REQUEST} items may be added at a time, got {len(items)}",
            param="items",
        )


def _conversation(row: Any, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """The `ConversationResource` of a row (or a row's values as a dict)."""
    values = row if isinstance(row, dict) else row._mapping
    return {
        "id": values["id"],
        "object": "conversation",
        "created_at": values["created_at"] // 1_000_000_000,
        "metadata": values["metadata"] if metadata is None else metadata,
    }
