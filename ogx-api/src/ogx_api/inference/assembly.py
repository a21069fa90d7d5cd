"""Assembling a streamed chat completion into the object a non-streamed call returns.

The core uses it to store streamed completions; the responses loop consumes model streams with
it; a provider can use it to implement a non-streaming call over a streaming backend."""

from __future__ import annotations

from typing import Any

from ogx_api.inference.responses import ChatCompletion, ChatCompletionChunk


class ChatCompletionAssembler:
    def __init__(self) -> None:
        self._head: dict[str, Any] = {}
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] | None = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        if not self._head:
            self._head = {
                k: chunk.get(k) for k in ("id", "created", "model", "system_fingerprint", "service_tier")
            }
        if chunk.get("usage"):
            self._usage = dict(chunk["usage"])  # type: ignore[arg-type]
        for choice in chunk.get("choices") or []:
            self._add_choice(choice)

    def _add_choice(self, choice: Any) -> None:
        state = self._choices.setdefault(
            choice["index"],
            {
                "content": [],
                "refusal": [],
                "reasoning": [],
                "tool_calls": {},
                "finish_reason": None,
                "logprobs": None,
            },
        )
        delta = choice.get("delta") or {}
        for key, field in (
            ("content", "content"),
            ("refusal", "refusal"),
            ("reasoning", "reasoning_content"),
        ):
            if delta.get(field):
                state[key].append(delta[field])
        for call in delta.get("tool_calls") or []:
            slot = state["tool_calls"].setdefault(
                call.get("index", 0), {"id": None, "name": [], "arguments": []}
            )
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                slot["name"].append(function["name"])
            if function.get("arguments"):
                slot["arguments"].append(function["arguments"])
        if choice.get("finish_reason"):
            state["finish_reason"] = choice["finish_reason"]
        logprobs = choice.get("logprobs")
        if logprobs and logprobs.get("content"):
            state["logprobs"] = state["logprobs"] or {"content": [], "refusal": None}
            state["logprobs"]["content"].extend(logprobs["content"])

    def result(self) -> ChatCompletion:
        choices = []
        for index in sorted(self._choices):
            state = self._choices[index]
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(state["content"]) or None,
                "refusal": "".join(state["refusal"]) or None,
                "annotations": [],
            }
            if state["reasoning"]:
                message["reasoning_content"] = "".join(state["reasoning"])
            if state["tool_calls"]:
                message["tool_calls"] = [
                    {
                        "id": slot["id"] or f"call_{index}_{position}",
                        "type": "function",
                        "function": {"name": "".join(slot["name"]), "arguments": "".join(slot["arguments"])},
                    }
                    for position, slot in sorted(state["tool_calls"].items())
                ]
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "finish_reason": state["finish_reason"],
                    "logprobs": state["logprobs"],
                }
            )
        completion: dict[str, Any] = {**self._head, "object": "chat.completion", "choices": choices}
        completion = {k: v for k, v in completion.items() if v is not None or k in ("id", "model", "created")}
        if self._usage is not None:
            completion["usage"] = self._usage
        return completion  # type: ignore[return-value]


def with_required_fields(completion: ChatCompletion) -> ChatCompletion:
    """`completion` with the fields OpenAI always sends and many backends leave out (a choice's
    `logprobs`, a message's `refusal` and `annotations`, a logprobs object's `refusal`) set to
    their empty values, in place."""
    for choice in completion.get("choices") or ():
        logprobs = choice.setdefault("logprobs", None)
        if logprobs is not None:
            logprobs.setdefault("refusal", None)
        message = choice.get("message")
        if message is not None:
            message.setdefault("refusal", None)
            message.setdefault("annotations", [])
    return completion
