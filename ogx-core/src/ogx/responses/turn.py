"""One model call turned into output items and their stream events.

`Turn.feed` takes the chat completion's chunks (a non-streamed completion is fed as one chunk,
so both paths build the same items) and returns the events each produces: a reasoning item, an
assistant message (output text, refusal), and the client-side function calls, whose arguments
stream as they come. Calls of server-side tools are only collected: the loop runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ogx.responses.items import new_id

Event = dict[str, Any]

# Open Responses names (OpenAI calls them `response.reasoning_text.*`)
REASONING_DELTA = "response.reasoning.delta"
REASONING_DONE = "response.reasoning.done"


class Emitter:
    """Numbers events in the order they are made: `sequence_number` is monotonic."""

    def __init__(self) -> None:
        self.sequence = 0

    def __call__(self, event_type: str, **fields: Any) -> Event:
        event = {"type": event_type, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event


@dataclass
class ToolCallDraft:
    index: int
    call_id: str
    name: str = ""
    arguments: str = ""
    item: dict[str, Any] | None = None  # the function_call item, for client-side calls
    output_index: int = -1


@dataclass
class Turn:
    emit: Emitter
    output: list[dict[str, Any]]  # the response's output: items are appended as they start
    is_client_call: Callable[[str], bool]  # a function call the client runs (vs a server-side tool)
    with_logprobs: bool = False
    text: str = ""
    refusal: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    calls: dict[int, ToolCallDraft] = field(default_factory=dict)
    _message: dict[str, Any] | None = None
    _message_index: int = -1
    _reasoning_item: dict[str, Any] | None = None
    _reasoning_index: int = -1
    _logprobs: list[dict[str, Any]] = field(default_factory=list)

    # -- chunks ----------------------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if thought:
                events += self._add_reasoning(thought)
            if delta.get("content"):
                events += self._add_text(delta["content"], choice.get("logprobs"))
            if delta.get("refusal"):
                events += self._add_refusal(delta["refusal"])
            for call in delta.get("tool_calls") or ():
                events += self._add_call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _add_reasoning(self, text: str) -> list[Event]:
        events = []
        if self._reasoning_item is None:
            self._reasoning_item = {"type": "reasoning", "id": new_id("rs"), "summary": [], "content": []}
            self._reasoning_index = len(self.output)
            self.output.append(self._reasoning_item)
            events.append(self._item_added(self._reasoning_item, self._reasoning_index))
            events.append(
                self._part_event("response.content_part.added", self._reasoning_item, 0, _reasoning_part(""))
            )
        self.reasoning += text
        events.append(
            self.emit(
                REASONING_DELTA,
                item_id=self._reasoning_item["id"],
                output_index=self._reasoning_index,
                content_index=0,
                delta=text,
            )
        )
        return events

    def _open_message(self) -> list[Event]:
        if self._message is not None:
            return []
        events = self._close_reasoning()
        self._message = {
            "type": "message",
            "id": new_id("msg"),
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._message_index = len(self.output)
        self.output.append(self._message)
        events.append(self._item_added(self._message, self._message_index))
        return events

    def _add_text(self, text: str, logprobs: dict[str, Any] | None) -> list[Event]:
        events = self._open_message()
        assert self._message is not None
        if not self.text:
            events.append(self._part_event("response.content_part.added", self._message, 0, _text_part("")))
        self.text += text
        tokens = _logprobs(logprobs) if self.with_logprobs else []
        self._logprobs += tokens
        events.append(
            self.emit(
                "response.output_text.delta",
                item_id=self._message["id"],
                output_index=self._message_index,
                content_index=0,
                delta=text,
                logprobs=tokens,
            )
        )
        return events

    def _add_refusal(self, text: str) -> list[Event]:
        events = self._open_message()
        assert self._message is not None
        index = 1 if self.text else 0
        if not self.refusal:
            part = {"type": "refusal", "refusal": ""}
            events.append(self._part_event("response.content_part.added", self._message, index, part))
        self.refusal += text
        events.append(
            self.emit(
                "response.refusal.delta",
                item_id=self._message["id"],
                output_index=self._message_index,
                content_index=index,
                delta=text,
            )
        )
        return events

    def _add_call(self, delta: dict[str, Any]) -> list[Event]:
        index = delta.get("index", len(self.calls))
        function = delta.get("function") or {}
        draft = self.calls.get(index)
        if draft is None:
            draft = self.calls[index] = ToolCallDraft(index, delta.get("id") or new_id("call"))
        draft.name += function.get("name") or ""
        piece = function.get("arguments") or ""
        draft.arguments += piece
        if not draft.name or not self.is_client_call(draft.name):
            return []
        events = self._close_reasoning()
        if draft.item is None:
            draft.item = {
                "type": "function_call",
                "id": new_id("fc"),
                "call_id": draft.call_id,
                "name": draft.name,
                "arguments": "",
                "status": "in_progress",
            }
            draft.output_index = len(self.output)
            self.output.append(draft.item)
            events.append(self._item_added(draft.item, draft.output_index))
            piece = draft.arguments
        if piece:
            events.append(
                self.emit(
                    "response.function_call_arguments.delta",
                    item_id=draft.item["id"],
                    output_index=draft.output_index,
                    delta=piece,
                )
            )
        return events

    # -- the end -----------------------------------------------------------------------------------

    def finish(self, annotations: list[dict[str, Any]] | None = None) -> list[Event]:
        """Close every open item; `annotations` go on the output text."""
        events = self._close_reasoning()
        if self._message is not None:
            events += self._close_message(annotations or [])
        for draft in self.calls.values():
            if draft.item is None:
                continue
            draft.item.update(arguments=draft.arguments, status="completed")
            events.append(
                self.emit(
                    "response.function_call_arguments.done",
                    item_id=draft.item["id"],
                    name=draft.name,
                    output_index=draft.output_index,
                    arguments=draft.arguments,
                )
            )
            events.append(self._item_done(draft.item, draft.output_index))
        return events

    def _close_reasoning(self) -> list[Event]:
        item = self._reasoning_item
        if item is None or item.get("status") == "completed":
            return []
        part = _reasoning_part(self.reasoning)
        item["content"] = [part]
        item["status"] = "completed"
        ids = {"item_id": item["id"], "output_index": self._reasoning_index, "content_index": 0}
        return [
            self.emit(REASONING_DONE, **ids, text=self.reasoning),
            self._part_event("response.content_part.done", item, 0, part),
            self._item_done(item, self._reasoning_index),
        ]

    def _close_message(self, annotations: list[dict[str, Any]]) -> list[Event]:
        message = self._message
        assert message is not None
        ids = {"item_id": message["id"], "output_index": self._message_index}
        events = []
        content = []
        if self.text:
            for number, annotation in enumerate(annotations):
                events.append(
                    self.emit(
                        "response.output_text.annotation.added",
                        **ids,
                        content_index=0,
                        annotation_index=number,
                        annotation=annotation,
                    )
                )
            part = {**_text_part(self.text), "annotations": annotations, "logprobs": self._logprobs}
            events.append(
                self.emit(
                    "response.output_text.done",
                    **ids,
                    content_index=0,
                    text=self.text,
                    logprobs=self._logprobs,
                )
            )
            events.append(self._part_event("response.content_part.done", message, 0, part))
            content.append(part)
        if self.refusal:
            index = len(content)
            part = {"type": "refusal", "refusal": self.refusal}
            events.append(
                self.emit("response.refusal.done", **ids, content_index=index, refusal=self.refusal)
            )
            events.append(self._part_event("response.content_part.done", message, index, part))
            content.append(part)
        message["content"] = content
        message["status"] = "incomplete" if self.finish_reason == "length" else "completed"
        events.append(self._item_done(message, self._message_index))
        return events

    # -- event shapes ------------------------------------------------------------------------------

    def _item_added(self, item: dict[str, Any], index: int) -> Event:
        return self.emit("response.output_item.added", output_index=index, item=_snapshot(item))

    def _item_done(self, item: dict[str, Any], index: int) -> Event:
        return self.emit("response.output_item.done", output_index=index, item=_snapshot(item))

    def _part_event(self, kind: str, item: dict[str, Any], index: int, part: dict[str, Any]) -> Event:
        output_index = self._reasoning_index if item is self._reasoning_item else self._message_index
        return self.emit(
            kind, item_id=item["id"], output_index=output_index, content_index=index, part=dict(part)
        )

    # -- what the model said, as a chat message --------------------------------------------------

    def assistant_message(self, call_ids: set[str] | None = None) -> dict[str, Any] | None:
        """The chat message for the history; `call_ids` limits the tool calls it carries (a call
        awaiting approval is left out: a chat history can't hold a call without its result)."""
        calls = [
            {
                "id": d.call_id,
                "type": "function",
                "function": {"name": d.name, "arguments": d.arguments or "{}"},
            }
            for d in self.calls.values()
            if call_ids is None or d.call_id in call_ids
        ]
        if not (self.text or self.refusal or calls):
            return None
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if calls:
            message["tool_calls"] = calls
        if self.refusal:
            message["refusal"] = self.refusal
        return message


def _snapshot(item: dict[str, Any]) -> dict[str, Any]:
    copy = dict(item)
    if "content" in copy:
        copy["content"] = [dict(part) for part in copy["content"]]
    return copy


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning_part(text: str) -> dict[str, Any]:
    return {"type": "reasoning_text", "text": text}


def _logprobs(logprobs: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not logprobs:
        return []
    return [
        {
            "token": token["token"],
            "logprob": token["logprob"],
            "bytes": token.get("bytes") or [],
            "top_logprobs": [
                {"token": top["token"], "logprob": top["logprob"], "bytes": top.get("bytes") or []}
                for top in token.get("top_logprobs") or ()
            ],
        }
        for token in logprobs.get("content") or ()
    ]


def completion_as_chunk(completion: dict[str, Any]) -> dict[str, Any]:
    """A non-streamed chat completion as the single chunk that would have carried it all."""
    choices = []
    for choice in completion.get("choices") or ():
        message = dict(choice.get("message") or {})
        calls = message.pop("tool_calls", None) or []
        message["tool_calls"] = [{**call, "index": i} for i, call in enumerate(calls)]
        choices.append(
            {
                "index": choice.get("index", 0),
                "delta": message,
                "finish_reason": choice.get("finish_reason"),
                "logprobs": choice.get("logprobs"),
            }
        )
    return {"choices": choices, "usage": completion.get("usage")}
