"""The response object: every field the Open Responses schema requires, never null where it
says so (unset sampling parameters show their effective defaults)."""

from __future__ import annotations

import time
from typing import Any

from ogx.redaction import redact_mcp_tool
from ogx.responses.schema import CreateResponseRequest, McpTool


def base_response(body: CreateResponseRequest, response_id: str, status: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "completed_at": None,
        "status": status,
        "incomplete_details": None,
        "model": body.model,
        "previous_response_id": body.previous_response_id,
        "instructions": body.instructions,
        "output": [],
        "error": None,
        "tools": [_echoed_tool(t) for t in body.tools or ()],
        "tool_choice": _tool_choice(body),
        "truncation": body.truncation or "disabled",
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "text": _text(body),
        "top_p": 1.0 if body.top_p is None else body.top_p,
        "presence_penalty": body.presence_penalty or 0.0,
        "frequency_penalty": body.frequency_penalty or 0.0,
        "top_logprobs": body.top_logprobs or 0,
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "reasoning": body.reasoning.model_dump(include={"effort", "summary"}) if body.reasoning else None,
        "usage": None,
        "max_output_tokens": body.max_output_tokens,
        "max_tool_calls": body.max_tool_calls,
        "store": body.store is not False,
        "background": bool(body.background),
        "service_tier": body.service_tier or "default",
        "metadata": body.metadata or {},
        "safety_identifier": body.safety_identifier,
        "prompt_cache_key": body.prompt_cache_key,
        "prompt_cache_retention": body.prompt_cache_retention,
        "user": body.user,
        "conversation": {"id": body.conversation_id} if body.conversation_id else None,
    }


def _echoed_tool(tool: Any) -> dict[str, Any]:
    data: dict[str, Any] = tool.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(tool, McpTool):
        return redact_mcp_tool(data)  # shown, streamed and stored: never a credential
    if data["type"] == "function":
        for name in ("description", "parameters", "strict"):
            data.setdefault(name, None)
    return data


def _tool_choice(body: CreateResponseRequest) -> Any:
    choice = body.tool_choice
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return choice
    return choice.model_dump(mode="json", exclude_none=True)


def _text(body: CreateResponseRequest) -> dict[str, Any]:
    text = body.text
    if text is None or text.format is None:
        result: dict[str, Any] = {"format": {"type": "text"}}
    else:
        result = {"format": text.format.model_dump(mode="json", by_alias=True, exclude_none=True)}
    result["verbosity"] = (text.verbosity if text else None) or "medium"
    return result


def empty_usage() -> dict[str, Any]:
    return {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def add_usage(total: dict[str, Any], chat_usage: dict[str, Any] | None) -> int:
    """Adds a chat completion's usage to the response's; returns its completion tokens."""
    if not chat_usage:
        return 0
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    total["input_tokens"] += prompt
    total["output_tokens"] += completion
    total["total_tokens"] += prompt + completion
    cached = (chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (chat_usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    total["input_tokens_details"]["cached_tokens"] += int(cached)
    total["output_tokens_details"]["reasoning_tokens"] += int(reasoning)
    return completion


def finished(response: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    response.update(status=status, **fields)
    if status == "completed":
        response["completed_at"] = int(time.time())
    return response
