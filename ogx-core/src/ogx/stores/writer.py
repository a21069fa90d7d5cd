"""Writes kept off the request path: a bounded queue drained by one task in batches.
Reads call `flush()` first, so a worker always reads its own writes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(
        self,
        write_batch: Callable[[list[Any]], Awaitable[None]],
        *,
        max_queue: int = 10_000,
        batch: int = 100,
    ):
        self._write_batch = write_batch
        self._queue: asyncio.Queue[Any] = asyncio.Queue(max_queue)
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ogx-background-writer")

    def submit(self, item: Any) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            logger.error(
                "background write queue is full; dropping a write (the database is too slow or down)"
            )

    async def flush(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            items = [await self._queue.get()]
            while len(items) < self._batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                await self._write_batch(items)
            except Exception:  # a failed batch is logged; the server keeps serving
                logger.exception("background write of %d items failed", len(items))
            finally:
                for _ in items:
                    self._queue.task_done()
