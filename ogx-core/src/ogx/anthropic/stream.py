"""The streaming state machine: OpenAI chat chunks in, Anthropic Messages events out.

Anthropic streams one content block at a time: `content_block_start`, its deltas, then
`content_block_stop`, with a new index for each block. OpenAI deltas interleave freely, so a
block is opened when a delta of another kind arrives (reasoning → `thinking`, content → `text`,
each tool call → `tool_use`) and the open one is closed first. The sequence is:

    message_start, (content_block_start, [ping after the first], content_block_delta*,
    content_block_stop)*, message_delta (stop_reason, stop_sequence, usage), message_stop

`message_start` is produced when the backend's first chunk arrives, so a request the backend
refuses fails as an HTTP error before any event (`sse_response` fetches the first event before
answering). Its usage is zero: OpenAI streams count tokens at the end, and the exact counts
arrive in `message_delta`, whose usage figures are totals that replace the start's.

Each event is encoded as `event: <type>\\ndata: <json>\\n\\n` right here, one orjson call per
event, so the relay does no further work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from ogx.anthropic.translate import empty_usage, new_message_id, new_tool_use_id, stop_reason, usage

_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def encode(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class MessageStream:
    """One streamed message's state. `feed` each chunk, then `finish`; both return the events
    to send, as dicts (`ping` and `message_stop`, which never vary, are left to `events()`)."""

    __slots__ = (
        "_kind",
        "_matched",
        "_tools",
        "finish_reason",
        "index",
        "model",
        "omit_thinking",
        "stop_sequences",
        "usage",
    )

    def __init__(
        self, model: str, stop_sequences: list[str] | None = None, omit_thinking: bool = False
    ) -> None:
        self.model = model
        self.omit_thinking = omit_thinking
        self.stop_sequences = stop_sequences
        self.index = -1  # of the open block; -1 before the first
        self._kind: Any = None  # "thinking", "text", ("tool", openai index) or None when closed
        self._tools: dict[int, int] = {}  # OpenAI tool-call index → block index
        self.finish_reason: str | None = None
        self._matched: Any = None
        self.usage: Any = None

    def start(self) -> dict[str, Any]:
        return {
            "type": "message_start",
            "message": {
                "id": new_message_id(),
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": self.model,
                "stop_reason": None,
                "stop_sequence": None,
                "stop_details": None,
                "usage": empty_usage(),
                "container": None,
            },
        }

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not choices:
            return events
        choice = choices[0]
        delta = choice.get("delta")
        if delta:
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                if self._kind != "thinking":
                    self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""}, events)
                if not self.omit_thinking:
                    events.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
            text = delta.get("content")
            if text:
                if self._kind != "text":
                    self._open("text", {"type": "text", "text": "", "citations": None}, events)
                events.append(self._delta({"type": "text_delta", "text": text}))
            calls = delta.get("tool_calls")
            if calls:
                for call in calls:
                    self._tool_delta(call, events)
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
            self._matched = choice.get("stop_reason")
        return events

    def finish(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        self._close(events)
        reason, sequence = stop_reason(
            self.finish_reason, self._matched, self.stop_sequences, bool(self._tools)
        )
        counts = usage(self.usage)
        delta_usage: dict[str, Any] = {
            "input_tokens": counts["input_tokens"],
            "output_tokens": counts["output_tokens"],
            "cache_creation_input_tokens": counts["cache_creation_input_tokens"],
            "cache_read_input_tokens": counts["cache_read_input_tokens"],
            "output_tokens_details": counts["output_tokens_details"],
            "server_tool_use": None,
        }
        if counts.get("estimated"):
            delta_usage["estimated"] = True
        stop_details = (
            {"type": "refusal", "category": None, "explanation": None} if reason == "refusal" else None
        )
        events.append(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": reason,
                    "stop_sequence": sequence,
                    "stop_details": stop_details,
                    "container": None,
                },
                "usage": delta_usage,
            }
        )
        return events

    # -- blocks ------------------------------------------------------------------------------

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self.index, "delta": delta}

    def _open(self, kind: Any, block: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self._close(events)
        self.index += 1
        self._kind = kind
        events.append({"type": "content_block_start", "index": self.index, "content_block": block})

    def _close(self, events: list[dict[str, Any]]) -> None:
        if self._kind is not None:
            events.append({"type": "content_block_stop", "index": self.index})
            self._kind = None

    def _tool_delta(self, call: Any, events: list[dict[str, Any]]) -> None:
        position = call.get("index", 0)
        function = call.get("function") or {}
        if position not in self._tools:
            block = {
                "type": "tool_use",
                "id": call.get("id") or new_tool_use_id(),
                "name": function.get("name") or "",
                "input": {},
                "caller": {"type": "direct"},
            }
            self._open(("tool", position), block, events)
            self._tools[position] = self.index
        arguments = function.get("arguments")
        if arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append({"type": "content_block_delta", "index": self._tools[position], "delta": delta})


async def events(
    chunks: AsyncIterator[Any],
    model: str,
    stop_sequences: list[str] | None = None,
    omit_thinking: bool = False,
) -> AsyncIterator[bytes]:
    """The encoded Anthropic event stream for a stream of OpenAI chat chunks: the events of one
    chunk go out together (one write instead of several at a block's start and end)."""
    state = MessageStream(model, stop_sequences, omit_thinking)
    head: bytes | None = encode(state.start())  # sent with the first chunk's events
    pinged = False
    try:
        async for chunk in chunks:
            found = state.feed(chunk)
            if len(found) == 1 and head is None and pinged:
                yield encode(found[0])  # the usual case: one delta
                continue
            parts = [head] if head is not None else []
            head = None
            for event in found:
                parts.append(encode(event))
                if not pinged and event["type"] == "content_block_start":
                    parts.append(_PING)
                    pinged = True
            if parts:
                yield b"".join(parts)
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    tail = [head] if head is not None else []
    tail.extend(encode(event) for event in state.finish())
    tail.append(_STOP)
    yield b"".join(tail)
