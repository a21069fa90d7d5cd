"""The vendor-neutral part of a batch: requests (lines) run with bounded concurrency until done
or told to stop, each ending as a `LineResult`, and their token usage summed. The OpenAI Batches
API (`openai.py`) supplies how a line is parsed, run and written out; an Anthropic message batch
would supply its own and reuse this and the store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ogx_api import OGXError

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.5  # how often progress is saved and a cancellation looked for


@dataclass(frozen=True)
class LineError:
    """Why a line was not run (bad JSON, wrong url, a body that fails validation, …)."""

    code: str
    message: str


@dataclass
class Line:
    """One request of a batch: its 1-based line number, the client's id and what to run, or the
    reason it cannot run."""

    number: int
    custom_id: str | None
    body: Any = None
    invalid: LineError | None = None


@dataclass(frozen=True)
class LineResult:
    line: Line
    body: dict[str, Any] | None = None  # the endpoint's answer
    failure: OGXError | None = None  # what the endpoint raised instead
    error: LineError | None = None  # never ran

    @property
    def succeeded(self) -> bool:
        return self.body is not None


@dataclass
class Progress:
    total: int
    completed: int = 0
    failed: int = 0
    results: list[LineResult] = field(default_factory=list)
    expired: bool = False  # stopped by the batch's deadline: the lines not in `results` never ran

    def add(self, result: LineResult) -> None:
        self.results.append(result)
        if result.succeeded:
            self.completed += 1
        else:
            self.failed += 1


Execute = Callable[[Line], Awaitable[dict[str, Any]]]


async def run_one(line: Line, execute: Execute) -> LineResult:
    """A line's result: the answer, or the typed error it raised (the line fails, not the batch)."""
    if line.invalid is not None:
        return LineResult(line, error=line.invalid)
    try:
        return LineResult(line, body=await execute(line))
    except OGXError as exc:
        return LineResult(line, failure=exc)
    except Exception:  # a bug in one request must not fail the batch's other requests
        logger.exception("batch request on line %d failed", line.number)
        return LineResult(line, failure=OGXError("the request failed with an internal error"))


async def run_lines(
    lines: Sequence[Line],
    execute: Execute,
    *,
    concurrency: int,
    checkpoint: Callable[[Progress], Awaitable[bool]],
    expired: Callable[[], bool] = lambda: False,
) -> Progress:
    """Run every line, at most `concurrency` at once. `checkpoint(progress)` is awaited about every
    `PROGRESS_SECONDS` while lines run; when it returns False no new line is started and the
    lines in flight are awaited, so what has run is kept (a cancelled batch's partial results).
    `expired()` is asked before the first line and at each checkpoint: once true, the same stop,
    with `progress.expired` set (a batch past its deadline, even one whose job starts late)."""
    progress = Progress(total=len(lines), expired=expired())
    pending = iter(lines)
    running: set[asyncio.Task[LineResult]] = set()
    keep_going = not progress.expired
    last_check = time.monotonic()
    try:
        while True:
            while keep_going and len(running) < concurrency:
                line = next(pending, None)
                if line is None:
                    break
                running.add(asyncio.create_task(run_one(line, execute)))
            if not running:
                break
            done, running = await asyncio.wait(
                running, timeout=PROGRESS_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                progress.add(task.result())
            if keep_going and time.monotonic() - last_check >= PROGRESS_SECONDS:
                last_check = time.monotonic()
                progress.expired = expired()
                keep_going = not progress.expired and await checkpoint(progress)
    finally:
        for task in running:  # cancelled from outside (the job was stopped): nothing left behind
            task.cancel()
    progress.results.sort(key=lambda r: r.line.number)
    return progress


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Sum one answer's usage (chat/completions `prompt_tokens`…, Responses `input_tokens`…) into
    the batch's `input_tokens`, `output_tokens`, `cached_tokens`, `reasoning_tokens`."""
    if not isinstance(usage, dict):
        return
    inputs = usage.get("input_tokens", usage.get("prompt_tokens")) or 0
    outputs = usage.get("output_tokens", usage.get("completion_tokens")) or 0
    in_details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
    out_details = usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
    total["input_tokens"] = total.get("input_tokens", 0) + int(inputs)
    total["output_tokens"] = total.get("output_tokens", 0) + int(outputs)
    total["cached_tokens"] = total.get("cached_tokens", 0) + int(in_details.get("cached_tokens") or 0)
    total["reasoning_tokens"] = total.get("reasoning_tokens", 0) + int(
        out_details.get("reasoning_tokens") or 0
    )
