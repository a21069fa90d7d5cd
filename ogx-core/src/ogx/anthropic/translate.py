"""Anthropic Messages ⇄ the internal (OpenAI-shaped) chat call, for backends that don't speak the
Messages API themselves.

Request: `system` becomes a system message; each turn's blocks become OpenAI messages and parts
(`tool_result` blocks become `tool` messages placed before the rest of their turn, as OpenAI
requires them right after the assistant's `tool_calls`); documents become text (a PDF's text is
extracted with pypdf); `thinking` becomes `reasoning_effort`. Thinking blocks of earlier turns
are not sent back to the model (Anthropic's API drops them from the context too).

Response: reasoning → a `thinking` block, content → a `text` block, tool calls → `tool_use`
blocks; `finish_reason` → `stop_reason`; usage → Anthropic usage (cached prompt tokens are
`cache_read_input_tokens`, not `input_tokens`)."""

from __future__ import annotations

import base64
import binascii
import io
import logging
from typing import Any

import orjson
from pydantic import ValidationError

from ogx.anthropic import blocks as b
from ogx.anthropic import models as m
from ogx.anthropic.client_tools import client_tool_function
from ogx.anthropic.types import AnthropicMessage, AnthropicUsage, RefusalStopDetails, StopReason
from ogx.ids import random_hex
from ogx_api import InvalidRequest, ProviderError
from ogx_api.inference import ChatCompletion, ChatCompletionRequest, built_chat_request

logger = logging.getLogger(__name__)

_EFFORT = {"low": "low", "medium": "medium", "high": "high", "max": "high"}


def to_chat_request(body: m.CountTokensRequest) -> ChatCompletionRequest:
    """The chat request for `body` (a `CreateMessageRequest`, or a count request, which has no
    sampling parameters). `model` stays the client's id: the inference router resolves it."""
    payload: dict[str, Any] = {"model": body.model, "messages": _messages(body)}
    if isinstance(body, m.CreateMessageRequest):
        if body.container:
            raise InvalidRequest(
                "container: containers belong to Anthropic's code execution tool, which this model's "
                "backend does not run"
            )
        payload["max_tokens"] = body.max_tokens
        if body.stop_sequences:
            payload["stop"] = body.stop_sequences
        if body.temperature is not None:
            payload["temperature"] = body.temperature
        if body.top_p is not None:
            payload["top_p"] = body.top_p
        if body.top_k is not None:
            payload["top_k"] = body.top_k  # not OpenAI's; vLLM, llama.cpp and Ollama read it
        if body.metadata is not None and body.metadata.user_id:
            payload["user"] = body.metadata.user_id
        if body.stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
    if body.tools:
        _add_tools(body, payload)
    effort = _reasoning_effort(body)
    if effort is not None:
        payload["reasoning_effort"] = effort
    if body.output_config is not None and body.output_config.format is not None:
        schema = body.output_config.format.schema_
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema},
        }
    try:
        return built_chat_request(payload)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InvalidRequest(f"the request cannot be sent to this model: {where}: {problem['msg']}") from None


# -- request -----------------------------------------------------------------------------------


def _messages(body: m.CountTokensRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if body.system:
        system = body.system if isinstance(body.system, str) else "\n".join(b.text for b in body.system)
        out.append({"role": "system", "content": system})
    for index, message in enumerate(body.messages):
        if isinstance(message.content, str):
            out.append({"role": message.role, "content": message.content})
        elif message.role == "assistant":
            out.append(_assistant(message.content, f"messages.{index}"))
        else:
            out.extend(_user(message.content, f"messages.{index}"))
    return out


def _assistant(blocks: list[Any], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for position, block in enumerate(blocks):
        if isinstance(block, b.TextBlockParam):
            texts.append(block.text)
        elif isinstance(block, b.ToolUseBlockParam):
            arguments = orjson.dumps(block.input).decode()
            calls.append(
                {"id": block.id, "type": "function", "function": {"name": block.name, "arguments": arguments}}
            )
        elif not isinstance(block, b.ThinkingBlockParam | b.RedactedThinkingBlockParam):
            raise _unsupported(block, f"{where}.content.{position}", "in an assistant turn")
    # An empty string rather than null beside tool calls: llama.cpp's server refuses a null
    # content and fails on a missing one.
    message: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts)}
    if calls:
        message["tool_calls"] = calls
    return message


def _user(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for position, block in enumerate(blocks):
        path = f"{where}.content.{position}"
        if isinstance(block, b.TextBlockParam):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, b.ImageBlockParam):
            parts.append(_image(block))
        elif isinstance(block, b.DocumentBlockParam):
            parts.extend(_document(block, path))
        elif isinstance(block, b.SearchResultBlockParam):
            parts.append({"type": "text", "text": _search_result(block)})
        elif isinstance(block, b.ToolResultBlockParam):
            text, extra = _tool_result(block, path)
            results.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": text})
            parts.extend(extra)  # images a tool returned: OpenAI tool messages carry text only
        elif not isinstance(block, b.ThinkingBlockParam | b.RedactedThinkingBlockParam):
            raise _unsupported(block, path, "in a user turn")
    if parts:
        results.append({"role": "user", "content": _joined(parts)})
    return results


def _joined(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    # Plain strings where possible: many chat templates (llama.cpp's among them) read text only.
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _tool_result(block: b.ToolResultBlockParam, path: str) -> tuple[str, list[dict[str, Any]]]:
    content = block.content
    extra: list[dict[str, Any]] = []
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts = []
        for position, item in enumerate(content):
            if isinstance(item, b.TextBlockParam):
                texts.append(item.text)
            elif isinstance(item, b.ImageBlockParam):
                extra.append(_image(item))
            elif isinstance(item, b.DocumentBlockParam):
                for part in _document(item, f"{path}.content.{position}"):
                    if part["type"] == "text":
                        texts.append(part["text"])
                    else:
                        extra.append(part)
            elif isinstance(item, b.SearchResultBlockParam):
                texts.append(_search_result(item))
            else:
                raise _unsupported(item, f"{path}.content.{position}", "in a tool result")
        text = "\n".join(texts)
    return (f"Error: {text}" if block.is_error else text), extra


def _image(block: b.ImageBlockParam) -> dict[str, Any]:
    source = block.source
    if isinstance(source, b.Base64ImageSourceParam):
        url = f"data:{source.media_type};base64,{source.data}"
    else:
        url = source.url
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: b.DocumentBlockParam, path: str) -> list[dict[str, Any]]:
    source = block.source
    if isinstance(source, b.PlainTextSourceParam):
        return [{"type": "text", "text": _titled(block, source.data)}]
    if isinstance(source, b.Base64PDFSourceParam):
        return [{"type": "text", "text": _titled(block, pdf_text(source.data, path))}]
    if isinstance(source, b.ContentBlockSourceParam):
        if isinstance(source.content, str):
            return [{"type": "text", "text": _titled(block, source.content)}]
        parts = [
            {"type": "text", "text": item.text} if isinstance(item, b.TextBlockParam) else _image(item)
            for item in source.content
        ]
        header = _titled(block, "")
        return ([{"type": "text", "text": header}] if header else []) + parts
    raise InvalidRequest(
        f"{path}.source: documents by URL are not fetched by this server; send the PDF as base64 "
        "(`source.type: base64`) or the text itself (`source.type: text`)"
    )


def _search_result(block: b.SearchResultBlockParam) -> str:
    body = "\n".join(item.text for item in block.content)
    return f"Search result: {block.title}\nSource: {block.source}\n\n{body}"


def _titled(block: b.DocumentBlockParam, text: str) -> str:
    header = "\n".join(x for x in (block.title, block.context) if x)
    if not header:
        return text
    return f"{header}\n\n{text}" if text else header


def pdf_text(data: str, path: str = "document") -> str:
    """The text of a base64 PDF, page after page. Needs `pypdf` (an optional dependency)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        raise InvalidRequest(
            f"{path}: PDF documents need the `pypdf` package on the server (pip install pypdf); "
            "plain-text documents (`source.type: text`) work without it"
        ) from None
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{path}.source.data: not valid base64") from None
    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types on a malformed file; each means the same here
        raise InvalidRequest(f"{path}.source.data: not a readable PDF ({exc})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _add_tools(body: m.CountTokensRequest, payload: dict[str, Any]) -> None:
    tools = []
    for index, tool in enumerate(body.tools or ()):
        where = f"tools.{index}"
        if isinstance(tool, m.ToolParam):
            function = _function(tool, where)
        elif isinstance(tool, m.CLIENT_TOOLS):
            _check_options(tool, where)
            function = client_tool_function(tool)
        elif isinstance(tool, m.SERVER_TOOLS):
            raise InvalidRequest(
                f"{where}: the server tool {tool.type!r} is not available for model {body.model!r} "
                "(only Anthropic's servers run it); define a client tool with an input_schema instead"
            )
        else:
            raise InvalidRequest(
                f"{where}: the tool type {tool.type!r} is unknown to the translation for model "
                f"{body.model!r}; define a client tool with an input_schema instead"
            )
        tools.append({"type": "function", "function": function})
    payload["tools"] = tools
    choice = body.tool_choice
    if choice is None:
        return
    if isinstance(choice, m.ToolChoiceAutoParam):
        payload["tool_choice"] = "auto"
    elif isinstance(choice, m.ToolChoiceAnyParam):
        payload["tool_choice"] = "required"
    elif isinstance(choice, m.ToolChoiceToolParam):
        payload["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        payload["tool_choice"] = "none"
    if getattr(choice, "disable_parallel_tool_use", None):
        payload["parallel_tool_calls"] = False


def _function(tool: m.ToolParam, where: str) -> dict[str, Any]:
    _check_options(tool, where)
    schema = _schema(tool.input_schema)
    function: dict[str, Any] = {"name": tool.name, "parameters": schema}
    description = tool.description or ""
    if tool.input_examples:
        examples = "\n".join(orjson.dumps(example).decode() for example in tool.input_examples)
        description = f"{description}\n\nExamples of input:\n{examples}".strip()
    if description:
        function["description"] = description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return function


def _schema(schema: m.InputSchemaParam) -> dict[str, Any]:
    # The schema as it came, its nested values shared rather than copied: a deep `model_dump`
    # per tool was most of the translation's cost for tool-heavy requests (Claude Code's).
    merged = {**schema.__dict__, **(schema.__pydantic_extra__ or {})}
    return {k: v for k, v in merged.items() if v is not None or k == "type"}


def _check_options(tool: Any, where: str) -> None:
    """Refuse what only Anthropic's server tools give meaning to."""
    if tool.defer_loading:
        raise InvalidRequest(
            f"{where}.defer_loading: deferred tools are loaded by Anthropic's tool search tool, which "
            "this model's backend does not run"
        )
    if tool.allowed_callers is not None and "direct" not in tool.allowed_callers:
        raise InvalidRequest(
            f'{where}.allowed_callers: only the model can call tools here ("direct"); code '
            "execution is not available for this model"
        )


def _reasoning_effort(body: m.CountTokensRequest) -> str | None:
    thinking = body.thinking
    if (thinking is None and body.output_config is None) or isinstance(
        thinking, m.ThinkingConfigDisabledParam
    ):
        return None
    effort = body.output_config.effort if body.output_config is not None else None
    if effort is not None:
        return _EFFORT[effort]
    if isinstance(thinking, m.ThinkingConfigEnabledParam):
        budget = thinking.budget_tokens
        return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    return None


def _unsupported(block: Any, path: str, where: str) -> InvalidRequest:
    kind = getattr(block, "type", "?")
    if isinstance(block, b.SERVER_BLOCKS):
        why = (
            "it belongs to Anthropic's server tools (code execution, web search and fetch, tool "
            "search), which this model's backend does not run"
        )
    elif isinstance(block, b.ToolReferenceBlockParam):
        why = "tool references are resolved by Anthropic's tool search tool, which this model's backend does not run"
    else:
        why = "the translation to this model's backend cannot express it"
    return InvalidRequest(f"{path}: content blocks of type {kind!r} are not supported {where}: {why}")


# -- response ----------------------------------------------------------------------------------


def new_tool_use_id() -> str:
    return f"toolu_{random_hex(16)}"


def new_message_id() -> str:
    return f"msg_{random_hex(16)}"


def thinking_omitted(body: m.CountTokensRequest) -> bool:
    """`thinking.display: omitted`: thinking blocks come back empty (with their signature)."""
    thinking = body.thinking
    return thinking is not None and getattr(thinking, "display", None) == "omitted"


def to_message(
    completion: ChatCompletion, stop_sequences: list[str] | None, omit_thinking: bool = False
) -> AnthropicMessage:
    choices = completion.get("choices")
    if not choices:
        raise ProviderError("the backend answered without a choice")
    choice: Any = choices[0]
    message = choice.get("message") or {}
    content: list[Any] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        content.append({"type": "thinking", "thinking": "" if omit_thinking else reasoning, "signature": ""})
    text = message.get("content")
    if text:
        content.append({"type": "text", "text": text, "citations": None})
    calls = message.get("tool_calls") or ()
    for call in calls:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or new_tool_use_id(),
                "name": function.get("name") or "",
                "input": tool_input(function.get("arguments")),
                "caller": {"type": "direct"},
            }
        )
    reason, sequence = stop_reason(
        choice.get("finish_reason"), choice.get("stop_reason"), stop_sequences, bool(calls)
    )
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": completion["model"],
        "stop_reason": reason,
        "stop_sequence": sequence,
        "stop_details": _REFUSAL if reason == "refusal" else None,
        "usage": usage(completion.get("usage")),
        "container": None,
    }


_REFUSAL: RefusalStopDetails = {"type": "refusal", "category": None, "explanation": None}


def tool_input(arguments: str | None) -> dict[str, Any]:
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    # A model that writes broken arguments: keep what it wrote, visibly, rather than lose it.
    logger.info("tool call arguments are not a JSON object: %.200s", arguments)
    return {"_raw_arguments": arguments}


def stop_reason(
    finish_reason: str | None, matched: Any, stop_sequences: list[str] | None, tool_calls: bool
) -> tuple[StopReason, str | None]:
    """Anthropic's `stop_reason` (and `stop_sequence`) for an OpenAI `finish_reason`.

    OpenAI's API does not say which stop sequence ended the text; vLLM and SGLang put it in the
    choice's `stop_reason`, which is what `matched` is. Without it a stop reads as `end_turn`."""
    if finish_reason == "length":
        return "max_tokens", None
    if tool_calls or finish_reason in ("tool_calls", "function_call"):
        return "tool_use", None
    if finish_reason == "content_filter":
        return "refusal", None
    if stop_sequences and isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    return "end_turn", None


def usage(openai_usage: Any) -> AnthropicUsage:
    counts = openai_usage or {}
    details = counts.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") or 0) if details else 0
    details = counts.get("completion_tokens_details")
    thinking = (details.get("reasoning_tokens") or 0) if details else 0
    prompt = counts.get("prompt_tokens") or 0
    result: AnthropicUsage = {
        "input_tokens": prompt - cached if prompt > cached else 0,
        "output_tokens": counts.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens_details": {"thinking_tokens": thinking},
        "server_tool_use": None,
        "service_tier": "standard",
        "inference_geo": None,
    }
    if counts.get("estimated"):
        result["estimated"] = True
    return result


def empty_usage() -> AnthropicUsage:
    return usage(None)
