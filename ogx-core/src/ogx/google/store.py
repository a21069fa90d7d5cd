"""Stored interactions, per owner. Writes are awaited (not queued like stored chat
completions): a client continues a conversation with `previous_interaction_id` as soon as it has
the id, possibly on another worker, so the row must exist by then."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.storage import tables
from ogx_api import NotFound

_table = tables.interactions


class InteractionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(
        self,
        interaction: dict[str, Any],
        *,
        input: Any,
        history: list[dict[str, Any]],
        owner: str | None,
    ) -> None:
        row = {
            "id": interaction["id"],
            "created_at": time.time_ns(),
            "owner": owner,
            "model": interaction.get("model") or "",
            "status": interaction["status"],
            "interaction": interaction,
            "input": input,
            "history": history,
        }
        async with self._engine.begin() as conn:
            await conn.execute(_table.insert(), [row])

    async def set_job(self, interaction_id: str, job_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_table.update().where(_table.c.id == interaction_id).values(job_id=job_id))

    async def finish(
        self, interaction: dict[str, Any], history: list[dict[str, Any]], *, only_if: str | None = None
    ) -> bool:
        """Replace a stored interaction (a background one that ended); with `only_if`, only
        while its status is still that. Returns whether the row changed."""
        where = [_table.c.id == interaction["id"]]
        if only_if is not None:
            where.append(_table.c.status == only_if)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _table.update()
                .where(*where)
                .values(status=interaction["status"], interaction=interaction, history=history)
            )
        return bool(result.rowcount)

    async def get(self, interaction_id: str, owner: str | None) -> Any:
        """The row (`.interaction`, `.input`, `.history`, `.status`, `.job_id`); NotFound if absent."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(_table).where(
                        _table.c.id == interaction_id, _table.c.owner.is_not_distinct_from(owner)
                    )
                )
            ).first()
        if row is None:
            raise NotFound(f"interaction {interaction_id!r} not found", param="id", code="not_found")
        return row

    async def delete(self, interaction_id: str, owner: str | None) -> str | None:
        """Delete a stored interaction; returns the id of the job that was running it, if any."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _table.delete()
                .where(_table.c.id == interaction_id, _table.c.owner.is_not_distinct_from(owner))
                .returning(_table.c.job_id)
            )
            deleted = result.first()
        if deleted is None:
            raise NotFound(f"interaction {interaction_id!r} not found", param="id", code="not_found")
        return deleted.job_id
