"""Chat completion chunks → the Interactions API's stream events, in Google's order:
`interaction.start`, then per output block `content.start`, `content.delta`…, `content.stop`,
and last `interaction.complete` carrying the whole interaction (outputs and usage included).

Text and thought summaries stream as they come; a function call is emitted whole once the
model has finished it, because Google's `function_call` delta carries complete arguments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from ogx.google import translate
from ogx_api.inference import ChatCompletionChunk

Event = dict[str, Any]


def encode(event: Event) -> bytes:
    return b"event: " + event["event_type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class _Blocks:
    """The output blocks being streamed: at most one open text or thought block at a time."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.open: str | None = None

    def switch(self, kind: str) -> list[Event]:
        events = self.close()
        start: dict[str, Any] = {"type": "text", "text": ""} if kind == "text" else {"type": "thought"}
        self.outputs.append(
            {"type": "text", "text": ""} if kind == "text" else {"type": "thought", "summary": []}
        )
        self.open = kind
        events.append({"event_type": "content.start", "index": len(self.outputs) - 1, "content": start})
        return events

    def close(self) -> list[Event]:
        if self.open is None:
            return []
        self.open = None
        return [{"event_type": "content.stop", "index": len(self.outputs) - 1}]

    def text(self, delta: str) -> list[Event]:
        events = self.switch("text") if self.open != "text" else []
        self.outputs[-1]["text"] += delta
        events.append(
            {
                "event_type": "content.delta",
                "index": len(self.outputs) - 1,
                "delta": {"type": "text", "text": delta},
            }
        )
        return events

    def thought(self, delta: str) -> list[Event]:
        events = self.switch("thought") if self.open != "thought" else []
        summary = self.outputs[-1]["summary"]
        if summary:
            summary[0]["text"] += delta
        else:
            summary.append({"type": "text", "text": delta})
        events.append(
            {
                "event_type": "content.delta",
                "index": len(self.outputs) - 1,
                "delta": {"type": "thought_summary", "content": {"type": "text", "text": delta}},
            }
        )
        return events

    def function_call(self, call: dict[str, Any]) -> list[Event]:
        events = self.close()
        self.outputs.append(call)
        index = len(self.outputs) - 1
        start = {"type": "function_call", "id": call["id"], "name": call["name"], "arguments": {}}
        return [
            *events,
            {"event_type": "content.start", "index": index, "content": start},
            {"event_type": "content.delta", "index": index, "delta": call},
            {"event_type": "content.stop", "index": index},
        ]


async def events(
    chunks: AsyncIterator[ChatCompletionChunk],
    started: dict[str, Any],
    finish: Callable[[list[dict[str, Any]], str | None, dict[str, Any] | None], Awaitable[dict[str, Any]]],
) -> AsyncIterator[Event]:
    """The event stream for `chunks`. `started` is the interaction as `interaction.start`
    shows it; `finish(outputs, finish_reason, usage)` completes (and stores) the interaction
    and returns it for `interaction.complete`.

    The first chunk is awaited before anything is yielded, so a backend that fails at once
    fails the HTTP response rather than the stream."""
    first = await anext(chunks, None)
    yield {"event_type": "interaction.start", "interaction": started}
    blocks = _Blocks()
    calls: dict[int, dict[str, Any]] = {}
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    pending = [first] if first is not None else []

    async def all_chunks() -> AsyncIterator[ChatCompletionChunk]:
        for chunk in pending:
            yield chunk
        async for chunk in chunks:
            yield chunk

    async for chunk in all_chunks():
        if chunk.get("usage"):
            usage = dict(chunk["usage"])  # type: ignore[arg-type]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta: dict[str, Any] = dict(choice.get("delta") or {})
            if reasoning := delta.get("reasoning_content"):
                for event in blocks.thought(reasoning):
                    yield event
            if content := delta.get("content"):
                for event in blocks.text(content):
                    yield event
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
                function = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
    for position in sorted(calls):
        slot = calls[position]
        call = {
            "type": "function_call",
            "id": slot["id"] or f"call_{position}",
            "name": slot["name"],
            "arguments": translate.arguments(slot["arguments"]),
        }
        for event in blocks.function_call(call):
            yield event
    for event in blocks.close():
        yield event
    interaction = await finish(blocks.outputs, finish_reason, usage)
    yield {"event_type": "interaction.complete", "interaction": interaction}
