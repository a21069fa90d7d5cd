"""Google Interactions ⇄ the internal OpenAI-shaped chat call.

A request's `input` is first normalised into turns (`{"role": "user"|"model", "content": [...]}`,
the form stored as history for `previous_interaction_id`), then turned into chat messages. A
chat completion is turned back into the interaction's `outputs`, `status` and `usage`.
Anything the chat call cannot express is a 400 naming the field, never a silent drop."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from ogx.google.content import TRANSLATABLE
from ogx.google.schema import CreateInteractionRequest, GoogleFunction, GoogleTurn, InteractionUsage
from ogx_api import InvalidRequest, ProviderError
from ogx_api.inference import ChatCompletionRequest, built_chat_request

Turn = dict[str, Any]

_AUDIO_FORMATS = {"audio/wav": "wav", "audio/mp3": "mp3", "audio/mpeg": "mp3"}
_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none", "validated": "auto"}


def _dump(block: BaseModel) -> dict[str, Any]:
    return block.model_dump(mode="json", exclude_none=True)


def input_turns(body: CreateInteractionRequest) -> list[Turn]:
    """The request's `input` as turns; a bare string or content list is one user turn."""
    raw = body.input
    if isinstance(raw, str):
        return [{"role": "user", "content": [{"type": "text", "text": raw}]}]
    if isinstance(raw, BaseModel):
        return [{"role": "user", "content": [_dump(raw)]}]
    if raw and isinstance(raw[0], GoogleTurn):
        turns = []
        for index, turn in enumerate(raw):
            assert isinstance(turn, GoogleTurn)
            if turn.role not in ("user", "model"):
                raise InvalidRequest(
                    f"input[{index}].role: must be 'user' or 'model', got {turn.role!r}",
                    param=f"input[{index}].role",
                )
            content = turn.content
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else []
            if isinstance(content, list):
                blocks = [_dump(block) for block in content]
            turns.append({"role": turn.role, "content": blocks})
        return turns
    return [{"role": "user", "content": [_dump(block) for block in raw]}]  # type: ignore[arg-type]


def chat_request(
    body: CreateInteractionRequest, history: list[Turn], turns: list[Turn]
) -> ChatCompletionRequest:
    """The chat completion request for `history` (earlier interactions) followed by `turns`."""
    messages: list[dict[str, Any]] = []
    if body.system_instruction:
        messages.append({"role": "system", "content": body.system_instruction})
    for turn in history:
        messages.extend(_messages(turn, None))
    for index, turn in enumerate(turns):
        messages.extend(_messages(turn, _input_path(body, index)))
    if not any(m["role"] in ("user", "tool") for m in messages):
        raise InvalidRequest("input: needs at least one user turn with content", param="input")

    payload: dict[str, Any] = {"model": body.model, "messages": messages}
    if body.tools:
        payload["tools"] = [_tool(tool, index) for index, tool in enumerate(body.tools)]
    payload |= _generation(body)
    try:
        return built_chat_request(payload)
    except ValidationError as exc:  # everything above was validated; this is a translation bug
        raise InvalidRequest(f"the request cannot be expressed as a chat completion: {exc}") from None


def _input_path(body: CreateInteractionRequest, index: int) -> str:
    """Where turn `index`'s content blocks sit in the request, as a template for the block's
    position (for error messages that name the field)."""
    raw = body.input
    if isinstance(raw, list) and raw and isinstance(raw[0], GoogleTurn):
        return f"input[{index}].content[{{}}]"
    return "input[{}]" if isinstance(raw, list) else "input"


def _messages(turn: Turn, path: str | None) -> list[dict[str, Any]]:
    """Chat messages for one turn. Tool results become `tool` messages, which must follow the
    assistant message that made the calls, so they come before the turn's other parts."""
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for position, block in enumerate(turn["content"]):
        where = path.format(position) if path else f"previous interaction content[{position}]"
        kind = block.get("type")
        if kind not in TRANSLATABLE:
            raise InvalidRequest(
                f"{where}.type: content of type {kind!r} is a Google built-in tool's; OGX cannot run it",
                param=f"{where}.type",
                code="unsupported_content",
            )
        if kind == "thought":
            continue  # reasoning is the model's own; it is not fed back
        if kind == "function_call":
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json.dumps(block["arguments"])},
                }
            )
        elif kind == "function_result":
            tool_messages.append(
                {"role": "tool", "tool_call_id": block["call_id"], "content": _result_text(block, where)}
            )
        else:
            parts.append(_part(block, where, turn["role"]))
    if turn["role"] == "model":
        text = "".join(p["text"] for p in parts)
        # "" rather than null beside tool calls: some OpenAI-compatible servers (llama.cpp's
        # Python server) reject a null content.
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = calls
        return [message, *tool_messages] if (text or calls) else tool_messages
    messages = []
    if calls:  # a client replaying the model's calls in its own turn
        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
    messages.extend(tool_messages)
    if parts:
        simple = all(p["type"] == "text" for p in parts)
        messages.append({"role": "user", "content": "".join(p["text"] for p in parts) if simple else parts})
    return messages


def _part(block: dict[str, Any], where: str, role: str) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    if role == "model":
        raise InvalidRequest(
            f"{where}.type: a model turn can hold text, thoughts and function calls, not {kind!r}",
            param=f"{where}.type",
        )
    data, uri, mime = block.get("data"), block.get("uri"), block.get("mime_type")
    if kind == "image":
        if not (data or uri):
            raise InvalidRequest(f"{where}: an image needs `data` or `uri`", param=f"{where}.data")
        url = uri if not data else f"data:{mime or 'image/png'};base64,{data}"
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "audio":
        audio_format = _AUDIO_FORMATS.get(mime or "audio/wav")
        if not data or audio_format is None:
            raise InvalidRequest(
                f"{where}: audio must be inline `data` in WAV or MP3 (got mime_type {mime!r})",
                param=f"{where}.mime_type" if data else f"{where}.data",
            )
        return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}
    if kind == "document":
        if not data:
            raise InvalidRequest(f"{where}: a document must be inline `data`", param=f"{where}.data")
        return {
            "type": "file",
            "file": {"file_data": f"data:application/pdf;base64,{data}", "filename": "document.pdf"},
        }
    raise InvalidRequest(f"{where}.type: {kind!r} content is not supported", param=f"{where}.type")


def _result_text(block: dict[str, Any], where: str) -> str:
    result = block["result"]
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        return json.dumps(result)
    texts = []
    for index, item in enumerate(result):
        if item.get("type") != "text":
            raise InvalidRequest(
                f"{where}.result[{index}]: only text can be returned from a function here",
                param=f"{where}.result[{index}].type",
            )
        texts.append(item["text"])
    return "".join(texts)


def _tool(tool: Any, index: int) -> dict[str, Any]:
    if not isinstance(tool, GoogleFunction):
        raise InvalidRequest(
            f"tools[{index}].type: {tool.type!r} is a Google built-in tool; OGX serves `function` tools",
            param=f"tools[{index}].type",
            code="unsupported_tool",
        )
    if not tool.name:
        raise InvalidRequest(f"tools[{index}].name: required but missing", param=f"tools[{index}].name")
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    parameters = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    if not isinstance(parameters, dict):
        raise InvalidRequest(
            f"tools[{index}].parameters: must be a JSON schema object", param=f"tools[{index}].parameters"
        )
    function["parameters"] = parameters
    return {"type": "function", "function": function}


def _generation(body: CreateInteractionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if body.response_modalities and set(body.response_modalities) - {"text"}:
        raise InvalidRequest(
            "response_modalities: OGX's models answer in text only", param="response_modalities"
        )
    if body.response_format is not None:
        if not isinstance(body.response_format, dict):
            raise InvalidRequest("response_format: must be a JSON schema object", param="response_format")
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": body.response_format},
        }
    elif body.response_mime_type == "application/json":
        out["response_format"] = {"type": "json_object"}
    config = body.generation_config
    if config is None:
        return out
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("top_k", "top_k"),  # not an OpenAI field: passed through to backends that take it
        ("seed", "seed"),
        ("stop_sequences", "stop"),
        ("max_output_tokens", "max_tokens"),
        ("thinking_level", "reasoning_effort"),
    ):
        value = getattr(config, ours)
        if value is not None:
            out[theirs] = value
    choice = config.tool_choice
    if isinstance(choice, str):
        out["tool_choice"] = _TOOL_CHOICE[choice]
    elif choice is not None and choice.allowed_tools is not None:
        allowed = choice.allowed_tools
        mode = "required" if allowed.mode == "any" else "auto"
        if allowed.mode == "none":
            out["tool_choice"] = "none"
        elif allowed.tools:
            out["tool_choice"] = {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": mode,
                    "tools": [{"type": "function", "function": {"name": n}} for n in allowed.tools],
                },
            }
        else:
            out["tool_choice"] = mode
    return out


# -- back: a chat completion as interaction outputs -------------------------------------------


def outputs(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if reasoning:
        blocks.append({"type": "thought", "summary": [{"type": "text", "text": reasoning}]})
    if message.get("content"):
        blocks.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "function_call",
                "id": call.get("id") or "",
                "name": function.get("name") or "",
                "arguments": arguments(function.get("arguments")),
            }
        )
    return blocks


def arguments(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ProviderError(f"the model's function call arguments are not JSON: {raw[:200]!r}") from None
    if not isinstance(parsed, dict):
        raise ProviderError(f"the model's function call arguments are not a JSON object: {raw[:200]!r}")
    return parsed


def status(finish_reason: str | None, blocks: list[dict[str, Any]]) -> str:
    if any(b["type"] == "function_call" for b in blocks):
        return "requires_action"
    if finish_reason == "length":
        return "incomplete"
    return "completed"


def usage(chat_usage: dict[str, Any] | None) -> InteractionUsage:
    chat_usage = chat_usage or {}
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    cached = int((chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    thought = int((chat_usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    return {
        "total_input_tokens": prompt,
        "input_tokens_by_modality": [{"modality": "text", "tokens": prompt}],
        "total_cached_tokens": cached,
        "total_output_tokens": completion - thought,
        "output_tokens_by_modality": [{"modality": "text", "tokens": completion - thought}],
        "total_thought_tokens": thought,
        "total_tool_use_tokens": 0,
        "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion),
    }
