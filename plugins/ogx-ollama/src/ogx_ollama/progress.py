"""Showing an Ollama pull's progress on the console (start-up only, never per request).

Ollama's `/api/pull` streams one JSON object per line: `{"status": "pulling manifest"}`, then
for each layer `{"status": "pulling 6a0746a1ec1a", "digest": "sha256:…", "total": N,
"completed": M}` (repeated as bytes arrive), then a few more statuses and `{"status":
"success"}`. A `PullProgress` receives each object; `console_pull_progress()` renders them as
a `rich` progress bar when `rich` is installed (the `ogx` server installs it), else as a log
line at every further 10% of a layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

logger = logging.getLogger("ogx_ollama")


class PullProgress(Protocol):
    def update(self, event: Mapping[str, Any]) -> None:
        """Take one progress object of Ollama's pull stream (never an `error` one)."""


PullProgressFactory = Callable[[str], AbstractContextManager[PullProgress]]
"""Given the model being pulled, a context manager yielding the `PullProgress` for its stream."""


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _layer(event: Mapping[str, Any]) -> tuple[str, int, int] | None:
    """(short digest, completed, total) of a layer's download event, else None."""
    digest, total = event.get("digest"), event.get("total")
    if not isinstance(digest, str) or not isinstance(total, int) or total <= 0:
        return None
    completed = event.get("completed")
    short = digest.removeprefix("sha256:")[:12]
    return short, completed if isinstance(completed, int) else 0, total


class LoggedPullProgress:
    """Progress as log lines: each new status, and each layer at every further 10%."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._status: str | None = None
        self._logged_tenths: dict[str, int] = {}

    def update(self, event: Mapping[str, Any]) -> None:
        layer = _layer(event)
        if layer is None:
            status = event.get("status")
            if isinstance(status, str) and status != self._status:
                self._status = status
                logger.info("pulling Ollama model %s: %s", self._model, status)
            return
        digest, completed, total = layer
        tenths = min(10, completed * 10 // total)
        if tenths > self._logged_tenths.get(digest, -1):
            self._logged_tenths[digest] = tenths
            logger.info(
                "pulling Ollama model %s: layer %s %d%% of %s",
                self._model,
                digest,
                tenths * 10,
                human_size(total),
            )


class RichPullProgress:
    """Progress as a `rich` bar per layer, statuses printed above the bars."""

    def __init__(self, model: str, progress: Any) -> None:
        self._model = model
        self._progress = progress
        self._tasks: dict[str, Any] = {}
        self._status: str | None = None

    def update(self, event: Mapping[str, Any]) -> None:
        from rich.text import Text

        layer = _layer(event)
        if layer is None:
            status = event.get("status")
            if isinstance(status, str) and status != self._status:
                self._status = status
                self._progress.console.print(Text(f"{self._model}: {status}"))
            return
        digest, completed, total = layer
        task = self._tasks.get(digest)
        if task is None:
            task = self._tasks[digest] = self._progress.add_task(f"{self._model} {digest}", total=total)
        self._progress.update(task, completed=completed, total=total)


@contextmanager
def console_pull_progress(model: str, console: Any = None) -> Iterator[PullProgress]:
    """The default `PullProgressFactory`: a `rich` progress bar on stderr (or on `console`), or
    log lines when `rich` is not installed."""
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:
        yield LoggedPullProgress(model)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        yield RichPullProgress(model, progress)
