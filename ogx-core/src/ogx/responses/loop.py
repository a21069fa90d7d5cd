"""The agentic loop: call the model, run the server-side tools it asks for (in parallel), feed
the results back, and repeat until a text answer, a client-side function call, an approval
request or a bound. It is one async generator of stream events for every mode: a non-streaming
request runs it and answers the terminal event's response.

The first model call is started before the first event is yielded, so a failure there (unknown
model, backend down) is an ordinary HTTP error; a failure after that is `response.failed`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ogx.responses import resource
from ogx.responses.schema import (
    CreateResponseRequest,
    FunctionChoice,
    HostedChoice,
    McpChoice,
    ResponseAllowedToolsChoice,
)
from ogx.responses.tools import FILE_SEARCH, Toolbox, file_search_message, new_call_item
from ogx.responses.turn import Emitter, Event, Turn, completion_as_chunk
from ogx.routing.inference import InferenceRouter
from ogx_api import InvalidRequest, OGXError
from ogx_api.inference import ChatCompletionRequest, built_chat_request

logger = logging.getLogger(__name__)


class Cancelled(Exception):
    """The stored response was cancelled while the loop ran: stop without a terminal event."""


Persist = Callable[[dict[str, Any], list[dict[str, Any]]], Awaitable[None]]


@dataclass
class Run:
    """Everything one response's loop needs."""

    body: CreateResponseRequest
    response: dict[str, Any]  # the object being built; events carry snapshots of it
    messages: list[dict[str, Any]]  # the chat history without instructions: grows as the loop runs
    toolbox: Toolbox
    inference: InferenceRouter
    owner: str | None
    stream: bool  # call the model streaming (deltas as they come) or not
    prior_items: list[dict[str, Any]] = field(default_factory=list)  # earlier output and this input
    approvals: list[dict[str, Any]] = field(default_factory=list)  # mcp_approval_response items
    persist: Persist | None = None  # called at start, after each item and at the end (store: true)
    emit: Emitter = field(default_factory=Emitter)
    tool_calls_run: int = 0


async def run(ctx: Run) -> AsyncIterator[Event]:
    response, emit = ctx.response, ctx.emit
    output: list[dict[str, Any]] = response["output"]
    usage = resource.empty_usage()
    early: list[Event] = [
        emit("response.created", response=_snapshot(response)),
        emit("response.in_progress", response=_snapshot(response)),
    ]
    try:
        early += await _list_mcp_tools(ctx)
        early += await _run_approved_calls(ctx)
        budget = ctx.body.max_output_tokens
        used = 0
        iteration = 0
        chunks = await _model_call(ctx, iteration, budget)
        first = await anext(chunks, None)  # a failure here is an HTTP error
    except BaseException:  # also cancellation: tool sessions opened so far are closed, the error re-raised
        await ctx.toolbox.close()
        raise
    if ctx.persist is not None:
        await ctx.persist(response, ctx.messages)
    try:
        for event in early:
            yield event
        while True:
            turn = Turn(emit, output, ctx.toolbox.is_client_call, _wants_logprobs(ctx.body))
            if first is not None:
                for event in turn.feed(first):
                    yield event
                first = None
            async for chunk in chunks:
                for event in turn.feed(chunk):
                    yield event
            for event in turn.finish(ctx.toolbox.annotations(turn.text)):
                yield event
            iteration += 1
            used += resource.add_usage(usage, turn.usage)
            response["usage"] = usage
            outcome = await _after_turn(ctx, turn)
            async for event in outcome.events:
                yield event
            if ctx.persist is not None:
                await ctx.persist(response, ctx.messages)
            if turn.finish_reason == "length":
                reason = "max_output_tokens" if budget is not None and used >= budget else "length"
                yield _terminal(ctx, "incomplete", incomplete_details={"reason": reason})
                return
            if not outcome.continue_loop:
                yield _terminal(ctx, "completed")
                return
            if iteration >= ctx.body.max_infer_iters:
                yield _terminal(ctx, "incomplete", incomplete_details={"reason": "max_infer_iters"})
                return
            if budget is not None and used >= budget:
                yield _terminal(ctx, "incomplete", incomplete_details={"reason": "max_output_tokens"})
                return
            chunks = await _model_call(ctx, iteration, None if budget is None else budget - used)
    except Cancelled:
        return
    except OGXError as exc:
        logger.warning("response %s failed: %r", response["id"], exc)
        yield _terminal(ctx, "failed", error={"code": _error_code(exc), "message": exc.message})
    except Exception as exc:  # a bug: the client still gets a terminal event
        logger.exception("response %s failed", response["id"])
        yield emit(
            "error",
            error={
                "type": "server_error",
                "code": "server_error",
                "message": "internal error",
                "param": None,
            },
        )
        yield _terminal(
            ctx, "failed", error={"code": "server_error", "message": f"internal error ({type(exc).__name__})"}
        )
    finally:
        await ctx.toolbox.close()


def _terminal(ctx: Run, status: str, **fields: Any) -> Event:
    response = resource.finished(ctx.response, status, **fields)
    kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
        status, "response.failed"
    )
    return ctx.emit(kind, response=_snapshot(response))


def _snapshot(response: dict[str, Any]) -> dict[str, Any]:
    return {**response, "output": list(response["output"])}


def _error_code(exc: OGXError) -> str:
    if exc.status_code >= 500:
        return "server_error"
    return exc.code or "invalid_request"


def _wants_logprobs(body: CreateResponseRequest) -> bool:
    return body.includes("message.output_text.logprobs") or bool(body.top_logprobs)


# -- the model call ------------------------------------------------------------------------------


async def _model_call(ctx: Run, iteration: int, remaining: int | None) -> AsyncIterator[dict[str, Any]]:
    request = _chat_request(ctx, iteration, remaining)
    if ctx.stream:
        return await ctx.inference.chat_completion_stream(request, ctx.owner)  # type: ignore[return-value]
    completion = await ctx.inference.chat_completion(request, ctx.owner)
    return _one(completion_as_chunk(dict(completion)))


async def _one(chunk: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield chunk


def _chat_request(ctx: Run, iteration: int, remaining: int | None) -> ChatCompletionRequest:
    body = ctx.body
    messages = list(ctx.messages)
    if body.instructions:
        messages.insert(0, {"role": "system", "content": body.instructions})
    if body.truncation == "auto":
        messages = _truncated(messages, ctx)
    payload: dict[str, Any] = dict(body.model_extra or {})
    payload.update(model=body.model, messages=messages)
    for name in (
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "service_tier",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "user",
    ):
        value = getattr(body, name)
        if value is not None:
            payload[name] = value
    if _wants_logprobs(body):
        payload["logprobs"] = True
        if body.top_logprobs:
            payload["top_logprobs"] = body.top_logprobs
    if remaining is not None:
        payload["max_completion_tokens"] = remaining
    if body.reasoning is not None and body.reasoning.effort is not None:
        payload["reasoning_effort"] = body.reasoning.effort
    fmt = body.text.format if body.text else None
    if fmt is not None and fmt.type == "json_object":
        payload["response_format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        schema = {"name": fmt.name, "schema": fmt.schema_}
        if fmt.strict is not None:
            schema["strict"] = fmt.strict
        if fmt.description:
            schema["description"] = fmt.description
        payload["response_format"] = {"type": "json_schema", "json_schema": schema}
    tools, choice = _tools_and_choice(ctx, iteration)
    if tools:
        payload["tools"] = tools
        payload["tool_choice"] = choice
        if body.parallel_tool_calls is not None:
            payload["parallel_tool_calls"] = body.parallel_tool_calls
    if ctx.stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return built_chat_request(payload)


def _tools_and_choice(ctx: Run, iteration: int) -> tuple[list[dict[str, Any]], Any]:
    """The chat tools and `tool_choice` for this iteration: a forced choice holds for the first
    model call only (then `auto`, or the loop would never end); `allowed_tools` filters always."""
    tools = ctx.toolbox.chat_tools()
    choice = ctx.body.tool_choice
    if choice is None or not tools:
        return tools, "auto"
    if isinstance(choice, ResponseAllowedToolsChoice):
        names = {
            t.get("name") or (t.get("function") or {}).get("name") or t.get("type") for t in choice.tools
        }
        if "file_search" in names:
            names.add(FILE_SEARCH)
        servers = {
            t.get("server_label") for t in choice.tools if t.get("type") == "mcp" and not t.get("name")
        }
        tools = [
            t
            for t in tools
            if t["function"]["name"] in names or ctx.toolbox.mcp_names.get(t["function"]["name"]) in servers
        ]
        return tools, (choice.mode if iteration == 0 else "auto")
    if iteration > 0:
        return tools, "auto"
    if isinstance(choice, str):
        return tools, choice
    if isinstance(choice, FunctionChoice):
        name = choice.name
    elif isinstance(choice, HostedChoice):
        name = FILE_SEARCH
    elif isinstance(choice, McpChoice) and choice.name:
        name = choice.name
    else:
        return tools, "required"
    return tools, {"type": "function", "function": {"name": name}}


def _truncated(messages: list[dict[str, Any]], ctx: Run) -> list[dict[str, Any]]:
    """`truncation: auto`: drop the oldest turns (never the system message or the last turn)
    until the estimated prompt fits the model's context."""
    context = ctx.inference.registry.resolve(ctx.body.model).metadata.get("context_length")
    if not context:
        return messages
    budget = int(context) - (ctx.body.max_output_tokens or 0)
    head = messages[:1] if messages and messages[0]["role"] in ("system", "developer") else []
    rest = messages[len(head) :]
    while len(rest) > 1 and _estimate(head + rest) > budget:
        rest = rest[1:]
        while len(rest) > 1 and rest[0]["role"] == "tool":  # never start with an orphan result
            rest = rest[1:]
    return head + rest


def _estimate(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) + len(str(m.get("tool_calls") or "")) for m in messages) // 4


# -- after each model call -------------------------------------------------------------------------


@dataclass
class Outcome:
    events: AsyncIterator[Event]
    continue_loop: bool


async def _after_turn(ctx: Run, turn: Turn) -> Outcome:
    """Record the model's message, then run its server-side calls (or ask approval for them)."""
    toolbox = ctx.toolbox
    server_calls, approvals, client_calls = [], [], []
    for draft in turn.calls.values():
        kind = toolbox.kind(draft.name)
        if kind == "function":
            client_calls.append(draft)
        elif kind == "mcp" and toolbox.needs_approval(draft.name):
            approvals.append(draft)
        else:
            server_calls.append(draft)
    kept = {d.call_id for d in (*server_calls, *client_calls)}
    message = turn.assistant_message(kept)
    if message is not None:
        ctx.messages.append(message)
    events: list[Event] = []
    for draft in approvals:
        item = new_call_item(
            "mcp_approval_request",
            server_label=toolbox.server_label(draft.name),
            name=draft.name,
            arguments=draft.arguments or "{}",
        )
        events += _whole_item(ctx, item)

    async def stream() -> AsyncIterator[Event]:
        for event in events:
            yield event
        if server_calls:
            async for event in _run_server_calls(ctx, server_calls):
                yield event

    continue_loop = bool(server_calls) and not client_calls and not approvals
    return Outcome(stream(), continue_loop)


def _whole_item(ctx: Run, item: dict[str, Any]) -> list[Event]:
    output = ctx.response["output"]
    index = len(output)
    output.append(item)
    return [
        ctx.emit("response.output_item.added", output_index=index, item=dict(item)),
        ctx.emit("response.output_item.done", output_index=index, item=dict(item)),
    ]


async def _run_server_calls(ctx: Run, drafts: list[Any]) -> AsyncIterator[Event]:
    """Start every call's item, run them all at once, then finish each in order."""
    toolbox, output, emit = ctx.toolbox, ctx.response["output"], ctx.emit
    started = []
    for draft in drafts:
        index = len(output)
        if draft.name == FILE_SEARCH and toolbox.kind(draft.name) == "file_search":
            item = new_call_item("file_search_call", status="in_progress", queries=[], results=None)
            output.append(item)
            yield emit("response.output_item.added", output_index=index, item=dict(item))
            yield emit("response.file_search_call.in_progress", output_index=index, item_id=item["id"])
            yield emit("response.file_search_call.searching", output_index=index, item_id=item["id"])
        else:
            item = new_call_item(
                "mcp_call",
                server_label=toolbox.server_label(draft.name),
                name=draft.name,
                arguments="",
                status="in_progress",
                output=None,
                error=None,
            )
            output.append(item)
            yield emit("response.output_item.added", output_index=index, item=dict(item))
            ids = {"output_index": index, "item_id": item["id"]}
            arguments = draft.arguments or "{}"
            yield emit("response.mcp_call_arguments.delta", **ids, delta=arguments)
            yield emit("response.mcp_call_arguments.done", **ids, arguments=arguments)
            item["arguments"] = arguments
            yield emit("response.mcp_call.in_progress", **ids)
        started.append((draft, item, index))
    results = await asyncio.gather(*(_execute(ctx, draft, item) for draft, item, _ in started))
    for (draft, item, index), content in zip(started, results, strict=True):
        ctx.messages.append({"role": "tool", "tool_call_id": draft.call_id, "content": content})
        ids = {"output_index": index, "item_id": item["id"]}
        if item["type"] == "file_search_call":
            yield emit("response.file_search_call.completed", **ids)
        else:
            yield emit("response.mcp_call.failed" if item["error"] else "response.mcp_call.completed", **ids)
        yield emit("response.output_item.done", output_index=index, item=dict(item))


async def _execute(ctx: Run, draft: Any, item: dict[str, Any]) -> str:
    """Runs one call, fills its item, and returns what the model reads."""
    limit = ctx.body.max_tool_calls
    if limit is not None and ctx.tool_calls_run >= limit:
        message = f"Tool call skipped: maximum tool calls limit ({limit}) reached."
        item.update(status="incomplete" if item["type"] == "file_search_call" else "failed")
        if item["type"] == "mcp_call":
            item["error"] = message
        return message
    ctx.tool_calls_run += 1
    if item["type"] == "file_search_call":
        queries, results, error = await ctx.toolbox.run_file_search(draft.arguments)
        item.update(
            queries=queries,
            status="failed" if error else "completed",
            results=results if ctx.body.includes("file_search_call.results") else None,
        )
        return file_search_message(results, error)
    output, error = await ctx.toolbox.run_mcp(item["server_label"], draft.name, item["arguments"])
    item.update(output=output, error=error, status="failed" if error else "completed")
    return f"Error: {error}" if error else (output or "")


# -- before the first model call -------------------------------------------------------------------


async def _list_mcp_tools(ctx: Run) -> list[Event]:
    known = {
        item["server_label"]: item.get("tools") or []
        for item in ctx.prior_items
        if item.get("type") == "mcp_list_tools" and not item.get("error")
    }
    events: list[Event] = []
    for tool in ctx.toolbox.mcp_tools:
        reused = tool.server_label in known
        allowed, error = await ctx.toolbox.list_mcp(tool, known)
        if reused:
            continue
        output = ctx.response["output"]
        index = len(output)
        item = new_call_item("mcp_list_tools", server_label=tool.server_label, tools=[], error=None)
        output.append(item)
        ids = {"output_index": index, "item_id": item["id"]}
        events.append(ctx.emit("response.output_item.added", output_index=index, item=dict(item)))
        events.append(ctx.emit("response.mcp_list_tools.in_progress", **ids))
        item.update(tools=allowed, error=error)
        events.append(
            ctx.emit(
                "response.mcp_list_tools.failed" if error else "response.mcp_list_tools.completed", **ids
            )
        )
        events.append(ctx.emit("response.output_item.done", output_index=index, item=dict(item)))
    return events


async def _run_approved_calls(ctx: Run) -> list[Event]:
    """An `mcp_approval_response` that approves runs the call it answers (found among the earlier
    items) before the model is called again; a refusal leaves the call out."""
    requests = {item["id"]: item for item in ctx.prior_items if item.get("type") == "mcp_approval_request"}
    events: list[Event] = []
    for answer in ctx.approvals:
        request = requests.get(answer["approval_request_id"])
        if request is None:
            raise InvalidRequest(
                f"input: mcp_approval_response answers {answer['approval_request_id']!r}, which is not an "
                "mcp_approval_request of the previous response",
                param="input",
            )
        if not answer["approve"]:
            continue
        call_id = request["id"]
        ctx.messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": request["name"], "arguments": request["arguments"]},
                    }
                ],
            }
        )
        ctx.tool_calls_run += 1
        output, error = await ctx.toolbox.run_mcp(
            request["server_label"], request["name"], request["arguments"]
        )
        item = new_call_item(
            "mcp_call",
            server_label=request["server_label"],
            name=request["name"],
            arguments=request["arguments"],
            status="failed" if error else "completed",
            output=output,
            error=error,
            approval_request_id=request["id"],
        )
        items = ctx.response["output"]
        ids = {"output_index": len(items), "item_id": item["id"]}
        items.append(item)
        events += [
            ctx.emit(
                "response.output_item.added",
                output_index=ids["output_index"],
                item={**item, "status": "in_progress", "output": None, "error": None},
            ),
            ctx.emit("response.mcp_call.in_progress", **ids),
            ctx.emit("response.mcp_call.failed" if error else "response.mcp_call.completed", **ids),
            ctx.emit("response.output_item.done", output_index=ids["output_index"], item=dict(item)),
        ]
        ctx.messages.append(
            {"role": "tool", "tool_call_id": call_id, "content": f"Error: {error}" if error else output or ""}
        )
    return events
