"""Conversation items: an input item (already validated) becomes the stored item in OpenAI's
output shape (`ConversationItem`): an id in OpenAI's style, a status, message text as content
parts. Rendering honours `include` (fields OpenAI returns only when asked for)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ogx.conversations.schemas import item_type_of
from ogx.ids import new_id

INCLUDE_VALUES = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)

_ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "file_search_call": "fs",
    "web_search_call": "ws",
    "computer_call": "cu",
    "computer_call_output": "cuo",
    "reasoning": "rs",
    "compaction": "cmp",
    "image_generation_call": "ig",
    "code_interpreter_call": "ci",
    "local_shell_call": "lsh",
    "local_shell_call_output": "lsho",
    "shell_call": "sh",
    "shell_call_output": "sho",
    "apply_patch_call": "apc",
    "apply_patch_call_output": "apco",
    "tool_search_call": "tsc",
    "tool_search_output": "tso",
    "mcp_list_tools": "mcpl",
    "mcp_approval_request": "mcpr",
    "mcp_approval_response": "mcpa",
    "mcp_call": "mcp",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
}
# Types whose stored (resource) shape requires a `status` that the input may leave out.
_STATUS_REQUIRED = {
    "message",
    "function_call",
    "function_call_output",
    "computer_call_output",
    "tool_search_call",
    "tool_search_output",
    "shell_call",
    "shell_call_output",
}


def to_stored(item: dict[str, Any]) -> dict[str, Any]:
    """The item as a conversation stores and returns it. An item that already has an id and a
    status (an earlier output item) keeps them."""
    item_type = item_type_of(item)
    stored = {**item, "type": item_type}
    if not stored.get("id"):
        stored["id"] = new_id(_ID_PREFIXES.get(item_type, "item"))
    if item_type in _STATUS_REQUIRED and not stored.get("status"):
        stored["status"] = "completed"
    if item_type == "message":
        stored["content"] = _message_content(stored["role"], stored["content"])
    return stored


def _message_content(role: str, content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        content = [{"type": kind, "text": content}]
    parts = []
    for part in content:
        if part.get("type") == "output_text":
            part = {"annotations": [], "logprobs": [], **part}
        elif part.get("type") == "input_image":
            part = {"detail": "auto", **part}
        parts.append(part)
    return parts


def render(item: dict[str, Any], include: Collection[str]) -> dict[str, Any]:
    """The stored item with the fields OpenAI returns only on request left out unless `include`
    asks for them. (Image URLs are always returned.)"""
    item_type = item.get("type")
    if item_type == "message" and "message.output_text.logprobs" not in include:
        if any(p.get("logprobs") for p in item["content"]):
            content = [
                {**p, "logprobs": []} if p.get("type") == "output_text" else p for p in item["content"]
            ]
            return {**item, "content": content}
    elif item_type == "file_search_call" and "file_search_call.results" not in include:
        if item.get("results") is not None:
            return {**item, "results": None}
    elif item_type == "reasoning" and "reasoning.encrypted_content" not in include:
        if item.get("encrypted_content") is not None:
            return {**item, "encrypted_content": None}
    elif item_type == "code_interpreter_call" and "code_interpreter_call.outputs" not in include:
        if item.get("outputs") is not None:
            return {**item, "outputs": None}
    elif item_type == "web_search_call" and "web_search_call.action.sources" not in include:
        action = item.get("action")
        if isinstance(action, dict) and "sources" in action:
            return {**item, "action": {k: v for k, v in action.items() if k != "sources"}}
    return item
