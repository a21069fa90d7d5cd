"""Items: the request's input normalised into stored items (each with an id), and items turned
into the chat messages the model reads. Earlier output items (function calls, MCP calls) become
the assistant tool calls and tool results they stand for."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ogx.ids import new_id
from ogx.responses.schema import CreateResponseRequest
from ogx_api import InvalidRequest, NotFound

MAX_INLINED_FILE_BYTES = 10 * 1024 * 1024


def input_items(body: CreateResponseRequest) -> list[dict[str, Any]]:
    """The request's input as items, each with an id and a status, as `input_items` lists them."""
    if body.input is None:
        return []
    if isinstance(body.input, str):
        return [_message("user", [{"type": "input_text", "text": body.input}])]
    items = []
    for item in body.input:
        data = item.model_dump(mode="json", exclude_none=True, by_alias=True)
        if data["type"] == "item_reference":
            raise InvalidRequest(
                "input: item_reference is not supported; send the item itself or use previous_response_id",
                param="input",
            )
        if data["type"] == "message":
            content = data["content"]
            if isinstance(content, str):
                part = "output_text" if data["role"] == "assistant" else "input_text"
                data["content"] = [{"type": part, "text": content, **_output_text_fields(part)}]
            data.setdefault("status", "completed")
        data.setdefault("id", new_id(_PREFIX.get(data["type"], "item")))
        if data["type"] in ("function_call", "function_call_output"):
            data.setdefault("status", "completed")
        items.append(data)
    return items


_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "mcp_approval_response": "mcpr",
}


def _output_text_fields(part: str) -> dict[str, Any]:
    return {"annotations": [], "logprobs": []} if part == "output_text" else {}


def _message(role: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "message", "id": new_id("msg"), "status": "completed", "role": role, "content": content}


def to_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages for `items` (consecutive function calls become one assistant message)."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_chat_message(item))
        elif kind == "function_call":
            _append_tool_call(messages, item["call_id"], item["name"], item["arguments"])
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _tool_output(item)})
        elif kind == "mcp_call":
            _append_tool_call(messages, item["id"], item["name"], item.get("arguments") or "{}")
            result = item.get("output") if item.get("error") is None else f"Error: {item['error']}"
            messages.append({"role": "tool", "tool_call_id": item["id"], "content": result or ""})
        elif kind == "compaction":  # see compact.py: the summary of the history it replaces
            summary = item.get("encrypted_content") or ""
            messages.append({"role": "user", "content": f"Summary of the conversation so far:\n{summary}"})
        # reasoning, mcp_list_tools, approvals and file_search_call items carry no message
    return messages


def _append_tool_call(messages: list[dict[str, Any]], call_id: str, name: str, arguments: str) -> None:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and last.get("tool_calls") is not None:
        last["tool_calls"].append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _chat_message(item: dict[str, Any]) -> dict[str, Any]:
    role, content = item["role"], item["content"]
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role == "assistant":
        text = "".join(
            p.get("text", "") for p in content if p["type"] in ("output_text", "input_text", "text")
        )
        refusal = "".join(p["refusal"] for p in content if p["type"] == "refusal")
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if refusal:
            message["refusal"] = refusal
        return message
    if role in ("system", "developer"):
        return {"role": role, "content": "".join(p.get("text", "") for p in content)}
    if all(p["type"] == "input_text" for p in content):  # plain text: what every backend reads
        return {"role": "user", "content": "".join(p["text"] for p in content)}
    return {"role": "user", "content": [_chat_part(p) for p in content]}


def _chat_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part["type"]
    if kind == "input_image":
        url = part.get("image_url") or {"file_id": part["file_id"]}
        return {"type": "image_url", "image_url": {"url": url, "detail": part.get("detail", "auto")}}
    if kind == "input_file":
        ref = {k: part[k] for k in ("file_id", "file_data", "filename", "file_url") if part.get(k)}
        return {"type": "file", "file": ref}
    return {"type": "text", "text": part.get("text") or part.get("refusal") or ""}


def _tool_output(item: dict[str, Any]) -> str:
    output = item["output"]
    if isinstance(output, str):
        return output
    return "".join(p.get("text", "") for p in output if p["type"] == "input_text")


async def resolve_files(messages: list[dict[str, Any]], files: Any, owner: str | None) -> None:
    """Replace `file_id` references in user messages by what the model can read: an image as a
    data URL, a text file inline (an unknown or foreign file is a 400)."""
    for message in messages:
        content = message.get("content")
        if message["role"] != "user" or not isinstance(content, list):
            continue
        for index, part in enumerate(content):
            if part["type"] == "image_url" and isinstance(part["image_url"]["url"], dict):
                info, data = await _read(files, part["image_url"]["url"]["file_id"], owner)
                url = f"data:{info.content_type};base64,{base64.b64encode(data).decode()}"
                part["image_url"]["url"] = url
            elif part["type"] == "file" and part["file"].get("file_id"):
                info, data = await _read(files, part["file"]["file_id"], owner)
                content[index] = _file_part(info, data)


def _file_part(info: Any, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        encoded = base64.b64encode(data).decode()
        return {
            "type": "file",
            "file": {"filename": info.filename, "file_data": f"data:{info.content_type};base64,{encoded}"},
        }
    return {"type": "text", "text": f"<file name={orjson.dumps(info.filename).decode()}>\n{text}\n</file>"}


async def _read(files: Any, file_id: str, owner: str | None) -> tuple[Any, bytes]:
    if files is None:
        raise InvalidRequest("input: files are not available on this server", param="input")
    try:
        info, chunks = await files.open(file_id, owner)
    except NotFound:
        raise InvalidRequest(
            f"input: file {file_id!r} not found", param="input", code="file_not_found"
        ) from None
    if info.bytes > MAX_INLINED_FILE_BYTES:
        raise InvalidRequest(f"input: file {file_id!r} is too large to give the model", param="input")
    data = b"".join([chunk async for chunk in chunks])
    return info, data
