"""The Responses API: create (JSON, SSE or in the background), get, list, delete, input items
and cancel. The context a response continues from is the stored chat history of its
`previous_response_id`, or the items of its `conversation`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ogx.encryption import SecretUnreadable
from ogx.jobs import JobQueue
from ogx.responses import items as item_utils
from ogx.responses import loop, schema
from ogx.responses.compact import CompactRequest, compact
from ogx.responses.resource import base_response
from ogx.responses.schema import CreateResponseRequest
from ogx.responses.store import ResponseStore
from ogx.responses.tools import Toolbox, ToolServices
from ogx.routing.inference import InferenceRouter
from ogx.server.errors import openai_envelope
from ogx.storage.pagination import Order, check_limit
from ogx.validation import format_loc
from ogx_api import InvalidRequest, NotFound, OGXError
from ogx_api.inference import ModelType

logger = logging.getLogger(__name__)

BACKGROUND_JOB = "responses.background"
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
FINISHED = ("completed", "incomplete", "failed", "cancelled")


@dataclass
class _Prepared:
    body: CreateResponseRequest
    ctx: loop.Run
    input_items: list[dict[str, Any]] = field(default_factory=list)


class ResponsesService:
    def __init__(
        self,
        inference: InferenceRouter,
        store: ResponseStore,
        *,
        files: Any = None,
        jobs: JobQueue | None = None,
        tools: ToolServices | None = None,
        conversations: Any = None,
    ) -> None:
        self._inference = inference
        self._store = store
        self._files = files
        self._jobs = jobs
        self._tools = tools or ToolServices()
        self.conversations = conversations  # set when the Conversations API runs
        if jobs is not None:
            jobs.register(BACKGROUND_JOB, self._run_background)

    # -- create ------------------------------------------------------------------------------------

    async def create(
        self, body: CreateResponseRequest, owner: str | None
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        schema.refuse_unsupported(body.unsupported())
        store = body.store is not False
        if body.background:
            if body.stream:
                raise InvalidRequest(
                    "background: a background response cannot also stream", param="background"
                )
            if not store:
                raise InvalidRequest("store: a background response must be stored", param="store")
            return await self._submit(body, owner)
        prepared = await self._prepare(body, owner, item_utils.new_id("resp"), stream=bool(body.stream))
        if store and body.stream:
            prepared.ctx.persist = _Persister(self._store, prepared.input_items, owner)
        events = await self._finishing(prepared, owner, store)
        if body.stream:
            return events
        last: dict[str, Any] = {}
        async for event in events:
            last = event
        return last["response"]

    async def _prepare(
        self, body: CreateResponseRequest, owner: str | None, response_id: str, *, stream: bool
    ) -> _Prepared:
        if body.previous_response_id and body.conversation_id:
            raise InvalidRequest(
                "previous_response_id and conversation cannot both be set: use one of them",
                param="previous_response_id",
                code="mutually_exclusive_parameters",
            )
        self._inference.registry.resolve(body.model, ModelType.llm)  # an unknown model is a 404 now
        history, prior_items = await self._history(body, owner)
        new_items = item_utils.input_items(body)
        messages = item_utils.to_messages(new_items)
        await item_utils.resolve_files(messages, self._files, owner)
        _check_function_outputs(history + messages)
        approvals = [i for i in new_items if i["type"] == "mcp_approval_response"]
        if not messages and not approvals and not history:
            raise InvalidRequest("input: give the model something to answer", param="input")
        toolbox = Toolbox(body, self._tools, owner)
        await toolbox.check()
        ctx = loop.Run(
            body=body,
            response=base_response(body, response_id, "in_progress"),
            messages=history + messages,
            toolbox=toolbox,
            inference=self._inference,
            owner=owner,
            stream=stream,
            prior_items=prior_items + new_items,
            approvals=approvals,
        )
        return _Prepared(body, ctx, new_items)

    async def _history(
        self, body: CreateResponseRequest, owner: str | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The chat history and the earlier items (MCP listings, approval requests) to continue from."""
        if body.previous_response_id:
            row = await self._store.get(body.previous_response_id, owner, param="previous_response_id")
            if row.status in ("queued", "in_progress"):
                raise InvalidRequest(
                    f"previous_response_id: response {body.previous_response_id!r} is still {row.status}",
                    param="previous_response_id",
                )
            return list(row.messages), list(row.response["output"])
        conversation_id = body.conversation_id
        if conversation_id:
            if self.conversations is None:
                raise InvalidRequest(
                    "conversation: the Conversations API is not available", param="conversation"
                )
            await self.conversations.get(conversation_id, owner)
            items = await self.conversations.items_for_context(conversation_id, owner)
            return item_utils.to_messages(items), list(items)
        return [], []

    async def _finishing(
        self, prepared: _Prepared, owner: str | None, store: bool
    ) -> AsyncIterator[dict[str, Any]]:
        """The loop's events, with the response stored (and appended to its conversation) before
        the terminal event goes out; a stream the client leaves stops, stored as `cancelled`."""
        ctx = prepared.ctx
        events = loop.run(ctx)
        first = await anext(events)  # failures before any output are HTTP errors

        async def relay() -> AsyncIterator[dict[str, Any]]:
            finished = False
            try:
                yield first
                async for event in events:
                    if event["type"] in TERMINAL_EVENTS:
                        finished = True
                        await self._record(prepared, owner, store)
                    yield event
            except OGXError as exc:  # storing or appending to the conversation failed
                logger.warning("response %s: %r", ctx.response["id"], exc)
                yield ctx.emit("error", error=error_payload(exc))
            finally:
                await events.aclose()
                stopped_by_client = ctx.stream and not finished
                if stopped_by_client and isinstance(ctx.persist, _Persister) and ctx.persist.inserted:
                    ctx.response["status"] = "cancelled"
                    await self._store.update(ctx.response, ctx.messages)

        return relay()

    async def _record(self, prepared: _Prepared, owner: str | None, store: bool) -> None:
        ctx = prepared.ctx
        if store:
            persist = ctx.persist
            if isinstance(persist, _Persister):
                await persist(ctx.response, ctx.messages)
            elif persist is None:  # a non-streamed response: written off the request path
                self._store.save_later(
                    ctx.response, input_items=prepared.input_items, messages=ctx.messages, owner=owner
                )
            else:
                await persist(ctx.response, ctx.messages)
        conversation_id = prepared.body.conversation_id
        if conversation_id and self.conversations is not None:
            await self.conversations.append_items(
                conversation_id, prepared.input_items + list(ctx.response["output"]), owner
            )

    async def compact(self, body: CompactRequest, owner: str | None) -> dict[str, Any]:
        history: list[dict[str, Any]] = []
        if body.previous_response_id:
            row = await self._store.get(body.previous_response_id, owner, param="previous_response_id")
            history = list(row.messages)
        return await compact(self._inference, body, history, owner)

    # -- background ----------------------------------------------------------------------------

    async def _submit(self, body: CreateResponseRequest, owner: str | None) -> dict[str, Any]:
        if self._jobs is None:
            raise InvalidRequest("background: background responses are not available", param="background")
        prepared = await self._prepare(body, owner, item_utils.new_id("resp"), stream=False)
        await prepared.ctx.toolbox.close()
        response = base_response(body, prepared.ctx.response["id"], "queued")
        request = body.model_dump(mode="json", exclude_unset=True, by_alias=True)
        await self._store.insert(
            response, input_items=prepared.input_items, messages=[], owner=owner, request=request
        )
        job_id = await self._jobs.submit(BACKGROUND_JOB, {"response_id": response["id"]}, owner=owner)
        await self._store.set_job(response["id"], job_id)
        return response

    async def _run_background(self, job: Any) -> dict[str, Any]:
        response_id = job.payload["response_id"]
        row = await self._store.get_any(response_id)
        if row is None or row.status in FINISHED:
            return {"status": row.status if row else "deleted"}
        try:
            body = CreateResponseRequest.model_validate(self._store.request_of(row))
        except (SecretUnreadable, ValidationError) as exc:
            await self._fail_stored(row, exc)
            return {"status": "failed"}
        status = await self._run_stored(row, body, row.owner)
        await self._store.forget_request(response_id)  # its credentials are not needed any more
        return {"status": status}

    async def _fail_stored(self, row: Any, exc: SecretUnreadable | ValidationError) -> None:
        """A stored request that cannot run fails its response, saying why. Not raised: the job's
        log and row would keep a ValidationError's input values, which may be credentials."""
        if isinstance(exc, ValidationError):
            fields = ", ".join(sorted({format_loc(error["loc"]) for error in exc.errors()}))
            exc = OGXError(
                f"the stored request of response {row.id!r} is no longer valid ({fields})",
                code="invalid_stored_request",
            )
        logger.warning("background response %s: %s", row.id, exc.message)
        failed = {**row.response, "status": "failed", "error": error_payload(exc)}
        await self._store.update(failed, request=None)

    async def _run_stored(self, row: Any, body: CreateResponseRequest, owner: str | None) -> str:
        prepared = await self._prepare(body, owner, row.id, stream=False)
        prepared.ctx.response["created_at"] = row.response["created_at"]
        persist = prepared.ctx.persist = _Persister(self._store, prepared.input_items, owner, inserted=True)
        try:
            await persist(prepared.ctx.response, [])  # queued -> in_progress, unless cancelled meanwhile
        except loop.Cancelled:
            return "cancelled"
        last: dict[str, Any] = {}
        try:
            async for event in await self._finishing(prepared, owner, store=True):
                last = event
        except loop.Cancelled:
            return "cancelled"
        return last.get("response", {}).get("status", "cancelled")

    async def cancel(self, response_id: str, owner: str | None) -> dict[str, Any]:
        row = await self._store.get(response_id, owner)
        if not row.response.get("background"):
            raise InvalidRequest(
                f"response {response_id!r} was not created with background: true; only background responses "
                "can be cancelled",
                param="response_id",
            )
        if row.status in FINISHED:
            return dict(row.response)
        cancelled = {**row.response, "status": "cancelled"}
        if not await self._store.update(cancelled, unless=("completed", "incomplete", "failed", "cancelled")):
            return dict((await self._store.get(response_id, owner)).response)
        if row.job_id and self._jobs is not None:
            await self._jobs.cancel(row.job_id)
        return cancelled

    # -- read and delete ---------------------------------------------------------------------------

    async def get(self, response_id: str, owner: str | None) -> dict[str, Any]:
        return dict((await self._store.get(response_id, owner)).response)

    async def list(
        self, *, owner: str | None, after: str | None, limit: int, order: Order, model: str | None
    ) -> dict[str, Any]:
        return await self._store.list(owner=owner, after=after, limit=limit, order=order, model=model)

    async def delete(self, response_id: str, owner: str | None) -> dict[str, Any]:
        row = await self._store.get(response_id, owner)
        await self._store.delete(response_id, owner)
        if row.job_id and row.status not in FINISHED and self._jobs is not None:
            await self._jobs.cancel(row.job_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def input_items(
        self, response_id: str, owner: str | None, *, after: str | None, limit: int, order: Order
    ) -> dict[str, Any]:
        check_limit(limit)
        items = list((await self._store.get(response_id, owner)).input_items)
        if order == "desc":
            items.reverse()
        if after is not None:
            position = next((n for n, item in enumerate(items) if item.get("id") == after), None)
            if position is None:
                raise NotFound(f"no input item {after!r} to page after", param="after")
            items = items[position + 1 :]
        data = items[:limit]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(items) > limit,
        }


class _Persister:
    """Writes a stored response as it goes: inserted at the start, rewritten after each step."""

    def __init__(
        self,
        store: ResponseStore,
        input_items: list[dict[str, Any]],
        owner: str | None,
        *,
        inserted: bool = False,
    ) -> None:
        self.store = store
        self.input_items = input_items
        self.owner = owner
        self.inserted = inserted

    async def __call__(self, response: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        snapshot = {**response, "output": list(response["output"])}
        if self.inserted:
            if not await self.store.update(snapshot, messages):
                raise loop.Cancelled()
            return
        await self.store.insert(snapshot, input_items=self.input_items, messages=messages, owner=self.owner)
        self.inserted = True


def error_payload(exc: OGXError) -> dict[str, Any]:
    return {**openai_envelope(exc)["error"]}


def _check_function_outputs(messages: list[dict[str, Any]]) -> None:
    """A `function_call_output` must answer a function call of the context: otherwise the model
    would get a result without its call (and most backends refuse it with an obscure message)."""
    calls = {c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or ()}
    for message in messages:
        if message["role"] == "tool" and message["tool_call_id"] not in calls:
            raise InvalidRequest(
                f"input: function_call_output for call_id {message['tool_call_id']!r}, but no function call "
                "with that id precedes it (pass previous_response_id, or the function_call item itself)",
                param="input",
                code="invalid_function_call_output",
            )
