"""The vendor-neutral batch runner: lines run at most `concurrency` at once, in input order in the
results; a checkpoint that says stop starts no new line but keeps those in flight; a failing line
(typed or not) fails alone; a deadline (checked first, then at each checkpoint) stops like a
checkpoint and marks the progress expired; usage of both OpenAI styles is summed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ogx.batches import core
from ogx.batches.core import Line, LineError, Progress, add_usage, run_lines
from ogx_api import InvalidRequest


async def test_lines_run_with_bounded_concurrency_and_keep_input_order():
    running, peak = 0, 0

    async def execute(line: Line) -> dict:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (line.number % 3))
        running -= 1
        return {"n": line.number}

    async def keep_going(progress: Progress) -> bool:
        return True

    lines = [Line(n, f"c{n}", body={}) for n in range(1, 31)]
    progress = await run_lines(lines, execute, concurrency=3, checkpoint=keep_going)
    assert peak == 3
    assert [r.body for r in progress.results] == [{"n": n} for n in range(1, 31)]
    assert (progress.total, progress.completed, progress.failed) == (30, 30, 0)


def _recording(started: list[int]) -> Callable[[Line], Awaitable[dict]]:
    """A line run that takes 20 ms and records the numbers of the lines started."""

    async def execute(line: Line) -> dict:
        started.append(line.number)
        await asyncio.sleep(0.02)
        return {}

    return execute


async def test_a_checkpoint_that_says_stop_starts_no_new_line(monkeypatch):
    monkeypatch.setattr(core, "PROGRESS_SECONDS", 0.01)
    started: list[int] = []
    execute = _recording(started)

    async def stop(progress: Progress) -> bool:
        return False

    progress = await run_lines(
        [Line(n, None, body={}) for n in range(1, 101)], execute, concurrency=2, checkpoint=stop
    )
    assert 2 <= len(started) < 100
    assert progress.completed == len(started) == len(progress.results)  # those in flight finished


async def test_a_failing_line_fails_alone():
    async def execute(line: Line) -> dict:
        if line.number == 2:
            raise InvalidRequest("no", param="body.x")
        if line.number == 3:
            raise KeyError("a bug")
        return {"ok": True}

    async def keep_going(progress: Progress) -> bool:
        return True

    lines = [
        Line(1, "a", body={}),
        Line(2, "b", body={}),
        Line(3, "c", body={}),
        Line(4, "d", invalid=LineError("x", "y")),
    ]
    progress = await run_lines(lines, execute, concurrency=4, checkpoint=keep_going)
    first, typed, bug, invalid = progress.results
    assert first.succeeded and not typed.succeeded and not bug.succeeded and not invalid.succeeded
    assert typed.failure.status_code == 400 and bug.failure.status_code == 500
    assert "a bug" not in bug.failure.message
    assert invalid.error == LineError("x", "y")
    assert (progress.completed, progress.failed) == (1, 3)


def test_usage_of_chat_and_responses_shapes_is_summed():
    total: dict[str, int] = {}
    add_usage(
        total, {"prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 1}}
    )
    add_usage(
        total, {"input_tokens": 5, "output_tokens": 6, "output_tokens_details": {"reasoning_tokens": 2}}
    )
    add_usage(total, {"prompt_tokens": 7, "total_tokens": 7})  # embeddings
    add_usage(total, None)
    assert total == {"input_tokens": 15, "output_tokens": 10, "cached_tokens": 1, "reasoning_tokens": 2}


async def test_a_deadline_reached_at_a_checkpoint_stops_the_lines_and_marks_progress_expired(monkeypatch):
    monkeypatch.setattr(core, "PROGRESS_SECONDS", 0.01)
    started: list[int] = []
    execute = _recording(started)

    async def keep_going(progress: Progress) -> bool:
        return True

    lines = [Line(n, None, body={}) for n in range(1, 101)]
    progress = await run_lines(
        lines, execute, concurrency=2, checkpoint=keep_going, expired=lambda: len(started) >= 4
    )
    late = await run_lines(lines, execute, concurrency=2, checkpoint=keep_going, expired=lambda: True)
    assert progress.expired and 4 <= len(started) < 100
    assert progress.completed == len(started) == len(progress.results)
    assert late.expired and late.results == [] and len(started) == progress.completed, "nothing ran"
