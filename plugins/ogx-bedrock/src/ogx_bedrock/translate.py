"""OpenAI chat completions ↔ Bedrock Converse, as pure functions (no I/O).

- `converse_request()`: a `ChatCompletionRequest` → the keyword arguments of botocore's
  `converse` / `converse_stream` (system prompts, images, documents, audio, tools, tool calls and
  results, inference parameters).
- `chat_completion()`: a Converse response → an OpenAI `ChatCompletion`.
- `StreamTranslator`: ConverseStream events → OpenAI `ChatCompletionChunk`s, streamed tool-call
  arguments included.

Parameters Converse has no equivalent for raise `InvalidRequest` naming the parameter rather
than being dropped silently; unknown (extra) request fields are model-specific and go to
`additionalModelRequestFields`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ogx_api import InvalidRequest, ProviderError
from ogx_api.inference import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CompletionUsage,
    DeveloperMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from ogx_api.inference.requests import (
    AudioPart,
    CustomTool,
    CustomToolCall,
    FilePart,
    FunctionTool,
    ImagePart,
    NamedToolChoice,
    TextPart,
)

__all__ = [
    "STOP_REASONS",
    "StreamTranslator",
    "chat_completion",
    "chat_request_for_completion",
    "completion_chunk",
    "completion_from_chat",
    "converse_request",
    "finish_reason",
    "image_block",
    "usage",
]

STOP_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
"""Converse `stopReason` → OpenAI `finish_reason`; anything else (`malformed_model_output`, …) is
reported as `stop`."""

IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_IMAGE_EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}

# Converse top-level fields a client may pass as extra request fields, as they are.
_PASSTHROUGH_FIELDS = (
    "guardrailConfig",
    "performanceConfig",
    "requestMetadata",
    "additionalModelResponseFieldPaths",
)
_SERVICE_TIERS = {"default", "flex", "priority"}
_PERMISSIVE_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_DOCUMENT_NAME_JUNK = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")


# -- request -----------------------------------------------------------------------------------


def converse_request(request: ChatCompletionRequest) -> dict[str, Any]:
    """The keyword arguments of `converse` / `converse_stream` for an OpenAI chat request."""
    _reject_unsupported(request)
    system, messages = _conversation(request)
    kwargs: dict[str, Any] = {"modelId": request.model, "messages": messages}
    if system:
        kwargs["system"] = system
    if inference := _inference_config(request):
        kwargs["inferenceConfig"] = inference
    if tool_config := _tool_config(request, _tool_names_in(messages)):
        kwargs["toolConfig"] = tool_config
    if output := _output_config(request):
        kwargs["outputConfig"] = output
    if request.service_tier in _SERVICE_TIERS:
        kwargs["serviceTier"] = {"type": request.service_tier}
    extra = dict(request.model_extra or {})
    for name in _PASSTHROUGH_FIELDS:
        if name in extra:
            kwargs[name] = extra.pop(name)
    if extra:
        kwargs["additionalModelRequestFields"] = extra
    return kwargs


def _reject_unsupported(request: ChatCompletionRequest) -> None:
    unsupported: list[tuple[str, bool]] = [
        ("n", (request.n or 1) > 1),
        ("logprobs", bool(request.logprobs)),
        ("top_logprobs", bool(request.top_logprobs)),
        ("logit_bias", bool(request.logit_bias)),
        ("frequency_penalty", bool(request.frequency_penalty)),
        ("presence_penalty", bool(request.presence_penalty)),
        ("audio", request.audio is not None),
        ("modalities", "audio" in (request.modalities or ())),
        ("prediction", request.prediction is not None),
        ("web_search_options", request.web_search_options is not None),
        ("functions", request.functions is not None),
        ("function_call", request.function_call is not None),
        ("reasoning_effort", request.reasoning_effort is not None),
    ]
    for param, present in unsupported:
        if present:
            hint = " (use `tools`)" if param.startswith("function") else ""
            if param == "reasoning_effort":
                hint = " (pass the model's own fields, e.g. Claude's `thinking`, as extra request fields)"
            raise InvalidRequest(
                f"`{param}` is not supported by Amazon Bedrock's Converse API{hint}", param=param
            )


def _conversation(request: ChatCompletionRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """System blocks and the user/assistant turns. Converse wants strictly alternating turns, so
    consecutive turns of one role (tool results, then a user's text) are merged."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for index, message in enumerate(request.messages):
        path = f"messages[{index}]"
        if isinstance(message, SystemMessage | DeveloperMessage):
            text = _text_of(message.content)
            if text:
                system.append({"text": text})
        elif isinstance(message, UserMessage):
            add("user", _user_blocks(message, path))
        elif isinstance(message, AssistantMessage):
            add("assistant", _assistant_blocks(message, path))
        elif isinstance(message, ToolMessage):
            result = {"toolUseId": message.tool_call_id, "content": [{"text": _text_of(message.content)}]}
            add("user", [{"toolResult": result}])
        else:
            raise InvalidRequest(
                "`function` messages are not supported by Amazon Bedrock: use `tool` messages", param=path
            )
    return system, turns


def _text_of(content: str | list[TextPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def _user_blocks(message: UserMessage, path: str) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"text": message.content}]
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(message.content):
        part_path = f"{path}.content[{index}]"
        if isinstance(part, TextPart):
            blocks.append({"text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append({"image": image_block(part.image_url.url, f"{part_path}.image_url.url")})
        elif isinstance(part, AudioPart):
            data = _b64decode(part.input_audio.data, f"{part_path}.input_audio.data")
            blocks.append({"audio": {"format": part.input_audio.format, "source": {"bytes": data}}})
        elif isinstance(part, FilePart):
            blocks.append({"document": _document_block(part, part_path, index)})
    return blocks


def image_block(url: str, param: str) -> dict[str, Any]:
    """A Converse `image` block for an OpenAI image URL: a base64 `data:` URL becomes bytes, an
    `s3://` URI an S3 location. Bedrock does not fetch web URLs, and neither does this provider."""
    if url.startswith("data:"):
        mime, data = _data_url(url, param)
        image_format = IMAGE_FORMATS.get(mime)
        if image_format is None:
            raise InvalidRequest(
                f"image type {mime!r} is not supported by Bedrock (use png, jpeg, gif or webp)", param=param
            )
        return {"format": image_format, "source": {"bytes": data}}
    if url.startswith("s3://"):
        extension = url[url.rfind(".") :].lower() if "." in url.rsplit("/", 1)[-1] else ""
        image_format = _IMAGE_EXTENSIONS.get(extension)
        if image_format is None:
            raise InvalidRequest(
                "an s3:// image URI must end in .png, .jpg, .jpeg, .gif or .webp", param=param
            )
        return {"format": image_format, "source": {"s3Location": {"uri": url}}}
    raise InvalidRequest(
        "Amazon Bedrock takes images inline: send a base64 `data:` URL or an `s3://` URI, not a web URL",
        param=param,
    )


def _document_block(part: FilePart, path: str, index: int) -> dict[str, Any]:
    if not part.file.file_data:
        raise InvalidRequest(
            "Amazon Bedrock needs the document's content: send `file_data` (a base64 data: URL), "
            "not a `file_id`",
            param=f"{path}.file",
        )
    data_param = f"{path}.file.file_data"
    if part.file.file_data.startswith("data:"):
        mime, data = _data_url(part.file.file_data, data_param)
    else:
        mime, data = "application/pdf", _b64decode(part.file.file_data, data_param)
    document_format = DOCUMENT_FORMATS.get(mime)
    if document_format is None:
        supported = ", ".join(sorted(DOCUMENT_FORMATS.values()))
        raise InvalidRequest(
            f"document type {mime!r} is not supported by Bedrock ({supported})", param=data_param
        )
    # Bedrock document names allow letters, digits, single spaces, hyphens, parentheses and brackets.
    stem = (part.file.filename or "").rsplit(".", 1)[0]
    name = " ".join(_DOCUMENT_NAME_JUNK.sub(" ", stem).split()) or f"document-{index}"
    return {"format": document_format, "name": name[:200], "source": {"bytes": data}}


def _data_url(url: str, param: str) -> tuple[str, bytes]:
    header, comma, data = url[len("data:") :].partition(",")
    mime, *options = header.split(";")
    if not comma or "base64" not in options:
        raise InvalidRequest("expected a base64 data: URL (data:<type>;base64,<data>)", param=param)
    return mime.strip().lower(), _b64decode(data, param)


def _b64decode(data: str, param: str) -> bytes:
    try:
        decoded = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("not valid base64", param=param) from None
    if not decoded:
        raise InvalidRequest("empty content", param=param)
    return decoded


def _assistant_blocks(message: AssistantMessage, path: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if isinstance(message.content, str):
        texts = [message.content]
    else:
        texts = [part.text if isinstance(part, TextPart) else part.refusal for part in message.content or ()]
    if message.refusal and not any(texts):
        texts.append(message.refusal)
    # Converse refuses blank text blocks; an assistant turn with only tool calls has none.
    blocks.extend({"text": text} for text in texts if text)
    for index, call in enumerate(message.tool_calls or ()):
        if isinstance(call, CustomToolCall):
            raise InvalidRequest(
                "custom tools are not supported by Amazon Bedrock", param=f"{path}.tool_calls[{index}]"
            )
        param = f"{path}.tool_calls[{index}].function.arguments"
        blocks.append(
            {
                "toolUse": {
                    "toolUseId": call.id,
                    "name": call.function.name,
                    "input": _arguments(call.function.arguments, param),
                }
            }
        )
    return blocks


def _arguments(arguments: str, param: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        raise InvalidRequest("tool call arguments must be a JSON object", param=param) from None
    if not isinstance(value, dict):
        raise InvalidRequest("tool call arguments must be a JSON object", param=param)
    return value


def _tool_names_in(turns: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for turn in turns:
        for block in turn["content"]:
            if "toolUse" in block and block["toolUse"]["name"] not in names:
                names.append(block["toolUse"]["name"])
    return names


def _tool_config(request: ChatCompletionRequest, history_tools: list[str]) -> dict[str, Any] | None:
    specs: list[dict[str, Any]] = []
    for index, tool in enumerate(request.tools or ()):
        if isinstance(tool, CustomTool):
            raise InvalidRequest("custom tools are not supported by Amazon Bedrock", param=f"tools[{index}]")
        specs.append({"toolSpec": _tool_spec(tool)})
    names = [spec["toolSpec"]["name"] for spec in specs]
    choice = request.tool_choice
    tool_choice: dict[str, Any] | None = None
    if choice == "required":
        tool_choice = {"any": {}}
    elif isinstance(choice, NamedToolChoice):
        if choice.function.name not in names:
            raise InvalidRequest(
                f"tool_choice names function {choice.function.name!r}, which is not among `tools`",
                param="tool_choice",
            )
        tool_choice = {"tool": {"name": choice.function.name}}
    elif choice is not None and not isinstance(choice, str):
        if choice.type == "custom":
            raise InvalidRequest("custom tools are not supported by Amazon Bedrock", param="tool_choice")
        allowed = {entry.get("function", {}).get("name") for entry in choice.allowed_tools.tools}
        specs = [spec for spec in specs if spec["toolSpec"]["name"] in allowed]
        if not specs:
            raise InvalidRequest("allowed_tools names none of `tools`", param="tool_choice")
        tool_choice = {"any": {}} if choice.allowed_tools.mode == "required" else None

    if choice == "none":
        # Converse refuses toolUse/toolResult blocks without a toolConfig: keep the tools only
        # when the conversation already used them (the model may still call one).
        specs = specs if history_tools else []
    used = {spec["toolSpec"]["name"] for spec in specs}
    # A conversation with tool calls but no `tools` (e.g. the final turn of an agent loop) still
    # needs them declared.
    specs += [
        {"toolSpec": {"name": name, "inputSchema": {"json": dict(_PERMISSIVE_SCHEMA)}}}
        for name in history_tools
        if name not in used
    ]
    if not specs:
        return None
    config: dict[str, Any] = {"tools": specs}
    if tool_choice is not None:
        config["toolChoice"] = tool_choice
    return config


def _tool_spec(tool: FunctionTool) -> dict[str, Any]:
    function = tool.function
    spec: dict[str, Any] = {
        "name": function.name,
        "inputSchema": {"json": function.parameters if function.parameters else dict(_PERMISSIVE_SCHEMA)},
    }
    if function.description:
        spec["description"] = function.description
    if function.strict is not None:
        spec["strict"] = function.strict
    return spec


def _inference_config(request: ChatCompletionRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = request.max_completion_tokens or request.max_tokens
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
    return config


def _output_config(request: ChatCompletionRequest) -> dict[str, Any] | None:
    response_format = request.response_format
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        raise InvalidRequest(
            "response_format `json_object` is not supported by Amazon Bedrock: use `json_schema`",
            param="response_format",
        )
    spec = response_format.json_schema
    schema: dict[str, Any] = {"schema": json.dumps(spec.schema_ or {"type": "object"}), "name": spec.name}
    if spec.description:
        schema["description"] = spec.description
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": schema}}}


# -- response ----------------------------------------------------------------------------------


def finish_reason(stop_reason: str | None) -> str:
    return STOP_REASONS.get(stop_reason or "", "stop")


def usage(token_usage: dict[str, Any] | None) -> CompletionUsage:
    """OpenAI usage from Converse's. Bedrock counts cached prompt tokens apart from
    `inputTokens`; OpenAI's `prompt_tokens` includes them."""
    token_usage = token_usage or {}
    cached = int(token_usage.get("cacheReadInputTokens") or 0)
    prompt = (
        int(token_usage.get("inputTokens") or 0) + cached + int(token_usage.get("cacheWriteInputTokens") or 0)
    )
    completion = int(token_usage.get("outputTokens") or 0)
    result: CompletionUsage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached:
        result["prompt_tokens_details"] = {"cached_tokens": cached}
    return result


def chat_completion(
    response: dict[str, Any], *, model: str, completion_id: str, created: int
) -> ChatCompletion:
    """The OpenAI chat completion for a Converse response."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise ProviderError("Amazon Bedrock answered Converse without an output message")
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            tool_use = block["toolUse"]
            tool_calls.append(
                {
                    "id": tool_use["toolUseId"],
                    "type": "function",
                    "function": {
                        "name": tool_use["name"],
                        "arguments": json.dumps(tool_use.get("input") or {}),
                    },
                }
            )
        elif "reasoningContent" in block:
            reasoning.append(((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text") or "")
    out_message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
    }
    if tool_calls:
        out_message["tool_calls"] = tool_calls
    if any(reasoning):
        out_message["reasoning_content"] = "".join(reasoning)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": out_message,  # type: ignore[typeddict-item]
                "finish_reason": finish_reason(response.get("stopReason")),  # type: ignore[typeddict-item]
                "logprobs": None,
            }
        ],
        "usage": usage(response.get("usage")),
    }


# -- stream ------------------------------------------------------------------------------------


class StreamTranslator:
    """Turns ConverseStream events into OpenAI chunks, one `feed()` per event.

    Text deltas become `content`, reasoning deltas `reasoning_content`; a `toolUse` block start
    opens a tool call (id and name) and its `input` fragments stream as `arguments` deltas of the
    same call `index`. `messageStop` gives the finish reason; `metadata` (which follows it) the
    final usage-only chunk when `include_usage`. `finish()` raises if the stream stopped early."""

    def __init__(self, *, model: str, completion_id: str, created: int, include_usage: bool = False) -> None:
        self.model = model
        self.completion_id = completion_id
        self.created = created
        self.include_usage = include_usage
        self._tool_index: dict[int, int] = {}  # contentBlockIndex → OpenAI tool call index
        self._started = False
        self.stopped = False

    def feed(self, event: dict[str, Any]) -> list[ChatCompletionChunk]:
        if "messageStart" in event:
            self._started = True
            return [self._chunk({"role": "assistant", "content": ""})]
        chunks: list[ChatCompletionChunk] = []
        if not self._started:  # be lenient with a stream that skips messageStart
            self._started = True
            chunks.append(self._chunk({"role": "assistant", "content": ""}))
        if "contentBlockStart" in event:
            chunks += self._block_start(event["contentBlockStart"])
        elif "contentBlockDelta" in event:
            chunks += self._block_delta(event["contentBlockDelta"])
        elif "messageStop" in event:
            self.stopped = True
            chunks.append(self._chunk({}, finish_reason(event["messageStop"].get("stopReason"))))
        elif "metadata" in event and self.include_usage:
            chunk = self._chunk({})
            chunk["choices"] = []
            chunk["usage"] = usage(event["metadata"].get("usage"))
            chunks.append(chunk)
        return chunks

    def finish(self) -> None:
        if not self.stopped:
            raise ProviderError("Amazon Bedrock ended the ConverseStream before messageStop")

    def _block_start(self, start: dict[str, Any]) -> list[ChatCompletionChunk]:
        tool_use = (start.get("start") or {}).get("toolUse")
        if tool_use is None:
            return []
        index = self._tool_index.setdefault(start.get("contentBlockIndex", 0), len(self._tool_index))
        call = {
            "index": index,
            "id": tool_use["toolUseId"],
            "type": "function",
            "function": {"name": tool_use["name"], "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, block_delta: dict[str, Any]) -> list[ChatCompletionChunk]:
        delta = block_delta.get("delta") or {}
        if "text" in delta:
            return [self._chunk({"content": delta["text"]})]
        if "toolUse" in delta:
            block_index = block_delta.get("contentBlockIndex", 0)
            index = self._tool_index.setdefault(block_index, len(self._tool_index))
            fragment = delta["toolUse"].get("input") or ""
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})]
        reasoning = (delta.get("reasoningContent") or {}).get("text")
        if reasoning:
            return [self._chunk({"reasoning_content": reasoning})]
        return []

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],  # type: ignore[typeddict-item]
        }


# -- legacy completions ------------------------------------------------------------------------
# Bedrock's Converse models are chat models: a completion prompt is sent as one user turn.


def chat_request_for_completion(request: CompletionRequest) -> ChatCompletionRequest:
    """The chat request that serves a `/v1/completions` request: its prompt as one user message."""
    unsupported = [
        ("echo", bool(request.echo)),
        ("suffix", request.suffix is not None),
        ("logprobs", request.logprobs is not None),
        ("best_of", (request.best_of or 1) > 1),
        ("n", (request.n or 1) > 1),
        ("max_tokens", request.max_tokens == 0),
    ]
    for param, present in unsupported:
        if present:
            raise InvalidRequest(
                f"`{param}` is not supported for completions by Amazon Bedrock (the prompt is sent "
                "as one user message to a chat model)",
                param=param,
            )
    prompt = request.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise InvalidRequest(
                "Amazon Bedrock completions take one text prompt per request", param="prompt"
            )
        prompt = prompt[0]
    body = request.model_dump(
        exclude_unset=True,
        exclude={"prompt", "echo", "suffix", "logprobs", "best_of", "n"},
    )
    body["messages"] = [{"role": "user", "content": prompt}]
    return ChatCompletionRequest.model_validate(body)


def _completion_finish(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def completion_from_chat(chat: ChatCompletion) -> Completion:
    choice = chat["choices"][0]
    completion: Completion = {
        "id": chat["id"],
        "object": "text_completion",
        "created": chat["created"],
        "model": chat["model"],
        "choices": [
            {
                "index": 0,
                "text": choice["message"]["content"] or "",
                "finish_reason": _completion_finish(choice["finish_reason"]),  # type: ignore[typeddict-item]
                "logprobs": None,
            }
        ],
    }
    if (chat_usage := chat.get("usage")) is not None:
        completion["usage"] = chat_usage
    return completion


def completion_chunk(chunk: ChatCompletionChunk) -> Completion | None:
    """The completion chunk for a chat chunk, or None when it carries nothing for completions
    (the role-only first chunk, tool-call deltas)."""
    completion: Completion = {
        "id": chunk["id"],
        "object": "text_completion",
        "created": chunk["created"],
        "model": chunk["model"],
        "choices": [],
    }
    if not chunk["choices"]:
        completion["usage"] = chunk.get("usage")
        return completion
    choice = chunk["choices"][0]
    text = choice["delta"].get("content") or ""
    finish = _completion_finish(choice["finish_reason"])
    if not text and finish is None:
        return None
    completion["choices"] = [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}]  # type: ignore[typeddict-item]
    return completion
