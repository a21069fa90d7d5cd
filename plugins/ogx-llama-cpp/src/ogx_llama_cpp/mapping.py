"""From OpenAI requests to llama-cpp-python arguments, and from its answers to OpenAI shapes.

Pure functions and small value objects: nothing here loads or runs a model, so all of it is
tested offline.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ogx_api import InvalidRequest, OGXError, ProviderError
from ogx_api.inference import ChatCompletionRequest, CompletionRequest
from ogx_api.inference.requests import (
    AllowedToolsChoice,
    AssistantMessage,
    FunctionDefinition,
    FunctionMessage,
    FunctionTool,
    JSONObjectFormat,
    JSONSchemaResponseFormat,
    NamedToolChoice,
    RefusalPart,
    TextPart,
    ToolCall,
    ToolMessage,
)
from ogx_api.inference.responses import CompletionUsage, ToolCallDelta, ToolCallDict, ToolCallFunctionDelta

# llama-cpp-python chat formats whose template has no system turn: the formatter silently drops
# system messages, so their text goes at the head of the first user turn (as Gemma's own
# template does).
FORMATS_WITHOUT_SYSTEM_ROLE = frozenset({"gemma"})

# Sampling parameters llama.cpp has beyond OpenAI's, accepted as extra request fields (the way
# vLLM and llama.cpp's server accept `top_k`).
_EXTRA_SAMPLING: dict[str, type] = {
    "top_k": int,
    "min_p": float,
    "typical_p": float,
    "repeat_penalty": float,
    "mirostat_mode": int,
    "mirostat_tau": float,
    "mirostat_eta": float,
}

_CONTEXT_OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


# -- messages ----------------------------------------------------------------------------


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for i, part in enumerate(content):
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, RefusalPart):
            texts.append(part.refusal)
        else:
            raise InvalidRequest(
                f"this model reads text only; content part of type {part.type!r} is not supported",
                param=f"{where}.content[{i}]",
            )
    return "\n".join(texts)


def _render_tool_call(name: str, arguments: str) -> str:
    try:
        parsed: Any = json.loads(arguments)
    except ValueError:
        parsed = arguments
    return json.dumps({"name": name, "arguments": parsed}, ensure_ascii=False)


def chat_messages(
    messages: list[Any], *, system_role: bool = True, instructions: str | None = None
) -> list[dict[str, str]]:
    """The conversation as plain `{"role", "content"}` turns any llama-cpp-python chat format
    renders faithfully: system and developer text (then `instructions`, if any) merged into one
    system turn, or, for a format without one, put at the head of the first user turn;
    assistant tool calls written out as JSON; tool results as user turns; consecutive turns of
    one role merged."""
    system: list[str] = []
    turns: list[dict[str, str]] = []
    call_names: dict[str, str] = {}

    def add(role: str, text: str) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})

    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.role
        if role in ("system", "developer"):
            system.append(_text(message.content, where))
        elif role == "user":
            add("user", _text(message.content, where))
        elif isinstance(message, AssistantMessage):
            parts = [_text(message.content, where)] if message.content else []
            for call in message.tool_calls or []:
                if isinstance(call, ToolCall):
                    name, arguments = call.function.name, call.function.arguments
                else:  # a custom tool's call: free-form input
                    custom: Any = getattr(call, "custom", None)
                    name, arguments = custom.name, custom.input
                call_names[call.id] = name
                parts.append(_render_tool_call(name, arguments))
            if message.function_call is not None:
                parts.append(_render_tool_call(message.function_call.name, message.function_call.arguments))
            if parts:
                add("assistant", "\n".join(parts))
        elif isinstance(message, ToolMessage):
            name = call_names.get(message.tool_call_id, "the tool")
            add("user", f"Result of {name}:\n{_text(message.content, where)}")
        elif isinstance(message, FunctionMessage):
            add("user", f"Result of {message.name}:\n{message.content or ''}")
    system_text = "\n\n".join(text for text in (*system, instructions) if text)
    if system_text:
        if system_role:
            turns.insert(0, {"role": "system", "content": system_text})
        elif turns and turns[0]["role"] == "user":
            turns[0]["content"] = f"{system_text}\n\n{turns[0]['content']}"
        else:
            turns.insert(0, {"role": "user", "content": system_text})
    if not turns:
        raise InvalidRequest("the conversation has no text to answer", param="messages")
    return turns


# -- tools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolPlan:
    """How a request's tools are served.

    `forced`: a call of one of these functions is forced by a grammar (a named `tool_choice`,
    or `required`); the model's text is the call. `handler_tools`: with `tool_choice` auto,
    the tools are handed to llama-cpp-python's chat handler, which calls them where the chat
    format can (e.g. `chatml-function-calling`); the `gemma` format answers in text.
    """

    forced: tuple[FunctionDefinition, ...] = ()
    handler_tools: list[dict[str, Any]] | None = None


def plan_tools(request: ChatCompletionRequest) -> ToolPlan:
    if request.functions is not None or request.function_call is not None:
        param = "functions" if request.functions is not None else "function_call"
        raise InvalidRequest(
            "`functions`/`function_call` are deprecated: use `tools`/`tool_choice`", param=param
        )
    functions: list[FunctionDefinition] = []
    for i, tool in enumerate(request.tools or []):
        if not isinstance(tool, FunctionTool):
            raise InvalidRequest(f"only function tools are supported, not {tool.type!r}", param=f"tools[{i}]")
        functions.append(tool.function)
    by_name = {function.name: function for function in functions}
    choice = request.tool_choice
    if choice is None or choice in ("auto", "none"):
        if not functions or choice == "none":
            return ToolPlan()
        return ToolPlan(handler_tools=[_tool_dict(f) for f in functions])
    if not functions:
        raise InvalidRequest("`tool_choice` requires a tool, and `tools` is empty", param="tool_choice")
    if choice == "required":
        return ToolPlan(forced=tuple(functions))
    if isinstance(choice, NamedToolChoice):
        return ToolPlan(forced=(_known(by_name, choice.function.name, "tool_choice"),))
    if isinstance(choice, AllowedToolsChoice):
        allowed = []
        for i, entry in enumerate(choice.allowed_tools.tools):
            name = (entry.get("function") or {}).get("name") or entry.get("name")
            allowed.append(_known(by_name, name, f"tool_choice.allowed_tools.tools[{i}]"))
        if choice.allowed_tools.mode == "required":
            return ToolPlan(forced=tuple(allowed))
        return ToolPlan(handler_tools=[_tool_dict(f) for f in allowed])
    raise InvalidRequest("only function tools can be chosen", param="tool_choice")


def _known(by_name: dict[str, FunctionDefinition], name: Any, param: str) -> FunctionDefinition:
    if name not in by_name:
        raise InvalidRequest(
            f"{param} names the function {name!r}, which is not among `tools` ({', '.join(sorted(by_name))})",
            param=param,
        )
    return by_name[name]


def _tool_dict(function: FunctionDefinition) -> dict[str, Any]:
    return {"type": "function", "function": function.model_dump(exclude_none=True)}


def tool_instructions(functions: tuple[FunctionDefinition, ...]) -> str:
    """The system text that tells the model which function it is calling and its parameters."""
    lines = ["Answer by calling one of these functions with JSON arguments:"]
    for function in functions:
        described = f"- {function.name}"
        if function.description:
            described += f": {function.description}"
        if function.parameters:
            described += f" Parameters (JSON Schema): {json.dumps(function.parameters)}"
        lines.append(described)
    return "\n".join(lines)


def tool_call_grammar(functions: tuple[FunctionDefinition, ...]) -> str:
    """A GBNF grammar whose sentences are the calls of `functions`: the JSON arguments alone for
    one function, `<name> <JSON arguments>` for several. Arguments follow each function's
    parameter schema (a schema llama.cpp cannot compile falls back to any JSON object)."""
    from llama_cpp.llama_grammar import SchemaConverter

    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    alternatives = []
    for i, function in enumerate(functions):
        rule_name = f"call-{i}-arguments"
        schema = function.parameters or {"type": "object"}
        try:
            rule = converter.visit(converter.resolve_refs(schema, rule_name), rule_name)
        except Exception:  # any schema the converter rejects
            rule = converter.visit({"type": "object"}, rule_name)
        alternatives.append(rule if len(functions) == 1 else f'"{function.name} " {rule}')
    return f"{converter.format_grammar()}\nroot ::= {' | '.join(alternatives)}\n"


@dataclass
class ForcedToolCall:
    """Reads the text of a grammar-forced call (see `tool_call_grammar`) as it streams in and
    turns it into OpenAI tool-call deltas, then into the finished call."""

    names: tuple[str, ...]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")
    name: str | None = None
    _pending: str = ""
    _arguments: list[str] = field(default_factory=list)
    _started: bool = False

    def __post_init__(self) -> None:
        if len(self.names) == 1:
            self.name = self.names[0]

    def feed(self, text: str) -> list[ToolCallDelta]:
        if self.name is None:
            self._pending += text
            name, space, rest = self._pending.partition(" ")
            if not space:
                return []
            self.name, text = name, rest
        self._arguments.append(text)
        if not self._started:
            self._started = True
            return [
                {
                    "index": 0,
                    "id": self.id,
                    "type": "function",
                    "function": {"name": self.name, "arguments": text},
                }
            ]
        return [{"index": 0, "function": {"arguments": text}}] if text else []

    def call(self) -> ToolCallDict | None:
        """The call as read so far; None if the output stopped before the function's name."""
        if self.name is None or not self._started:
            return None
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": "".join(self._arguments).strip()},
        }


def tool_call_deltas(raw: list[dict[str, Any]]) -> list[ToolCallDelta]:
    """llama-cpp-python's streamed tool-call deltas, in OpenAI's shape (without its `None`s)."""
    deltas: list[ToolCallDelta] = []
    for position, call in enumerate(raw):
        delta: ToolCallDelta = {"index": call.get("index", position)}
        if call.get("id"):
            delta["id"] = call["id"]
            delta["type"] = "function"
        function = call.get("function") or {}
        fields: ToolCallFunctionDelta = {}
        if function.get("name") is not None:
            fields["name"] = function["name"]
        if function.get("arguments") is not None:
            fields["arguments"] = function["arguments"]
        delta["function"] = fields
        deltas.append(delta)
    return deltas


def as_chunk(completion: Any) -> dict[str, Any]:
    """A whole llama-cpp-python chat completion as one streamed chunk of it."""
    choice = completion["choices"][0]
    message = choice["message"]
    delta: dict[str, Any] = {"content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}]}


def tool_calls(raw: list[dict[str, Any]] | None) -> list[ToolCallDict] | None:
    if not raw:
        return None
    return [
        {
            "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {
                "name": call["function"]["name"],
                "arguments": call["function"].get("arguments") or "",
            },
        }
        for call in raw
    ]


# -- sampling ----------------------------------------------------------------------------


def sampling_options(request: ChatCompletionRequest | CompletionRequest) -> dict[str, Any]:
    """The sampling keyword arguments of `create_completion`/`create_chat_completion`.

    OpenAI's defaults apply to OpenAI's parameters (temperature 1, top_p 1); llama.cpp's
    extra samplers (`top_k` 40, `min_p` 0.05, …) keep llama-cpp-python's defaults unless the
    request sets them as extra fields."""
    if request.n not in (None, 1):
        raise InvalidRequest("this provider generates one choice per request (n=1)", param="n")
    options: dict[str, Any] = {
        "temperature": 1.0 if request.temperature is None else request.temperature,
        "top_p": 1.0 if request.top_p is None else request.top_p,
        "presence_penalty": request.presence_penalty or 0.0,
        "frequency_penalty": request.frequency_penalty or 0.0,
        "seed": request.seed,
        "stop": [request.stop] if isinstance(request.stop, str) else list(request.stop or []),
    }
    if request.logit_bias:
        try:
            options["logit_bias"] = {int(token): float(bias) for token, bias in request.logit_bias.items()}
        except ValueError:
            raise InvalidRequest("logit_bias keys must be token ids", param="logit_bias") from None
    for name, value in (request.model_extra or {}).items():
        kind = _EXTRA_SAMPLING.get(name)
        if kind is None or value is None:
            continue  # other backends' extras: nothing to do here
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not isinstance(value, int))
        ):
            raise InvalidRequest(f"{name} must be a{'n integer' if kind is int else ' number'}", param=name)
        options[name] = kind(value)
    return options


def response_format_grammar(request: ChatCompletionRequest) -> str | None:
    """The GBNF grammar that forces `response_format`: any JSON object, or JSON following the
    given schema."""
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    fmt = request.response_format
    if isinstance(fmt, JSONObjectFormat):
        return JSON_GBNF
    if isinstance(fmt, JSONSchemaResponseFormat):
        if not fmt.json_schema.schema_:
            return JSON_GBNF
        try:
            return json_schema_to_gbnf(json.dumps(fmt.json_schema.schema_))
        except Exception as exc:  # the converter raises plain exceptions of several kinds
            raise InvalidRequest(
                f"llama.cpp cannot turn this JSON schema into a grammar: {exc}",
                param="response_format.json_schema.schema",
            ) from exc
    return None


def reject_logprobs(requested: bool, param: str = "logprobs") -> None:
    if requested:
        # llama-cpp-python computes logprobs only with `logits_all`, a buffer of context x vocabulary
        # floats (2 GB for Gemma's 262k-token vocabulary at n_ctx 2048).
        raise InvalidRequest("logprobs are not available from this in-process model", param=param)


# -- answers -----------------------------------------------------------------------------


def usage(prompt_tokens: int, completion_tokens: int) -> CompletionUsage:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def error_for(exc: Exception, *, param: str) -> OGXError:
    """The typed error for what llama-cpp-python raised: a prompt longer than the context window
    is the client's (400, with both numbers); anything else is the provider's (502)."""
    if isinstance(exc, OGXError):
        return exc
    overflow = _CONTEXT_OVERFLOW.search(str(exc))
    if overflow:
        return InvalidRequest(
            f"the prompt is {overflow[1]} tokens long, and the model's context window is "
            f"{overflow[2]} tokens (n_ctx); shorten the input",
            param=param,
            code="context_length_exceeded",
        )
    return ProviderError(f"llama.cpp failed: {type(exc).__name__}: {exc}")
