"""Anthropic Message Batches endpoints (`/v1/messages/batches`): create, list, retrieve, cancel,
delete, and the results as JSONL. Errors use Anthropic's envelope (everything under
`/v1/messages` does). `results_url` is this server's own results endpoint, as the client reached it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ogx.batches.message_types import (
    CreateMessageBatchRequest,
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchList,
    MessageBatchResult,
)
from ogx.batches.messages import MessageBatchesService
from ogx.server.body import parse_json, response_schema
from ogx.server.errors import json_response
from ogx.server.routes.anthropic import HEADERS, anthropic_openapi, anthropic_responses
from ogx.server.services import owner, services
from ogx_api import InvalidRequest

router = APIRouter(prefix="/v1", tags=["anthropic"])

_HEADER_DOCS = {"parameters": HEADERS}
_IN_THREAD_FROM = 256 * 1024  # bytes of body
_INDEX = re.compile(r"\[(\d+)\]")


def _service(request: Request) -> MessageBatchesService:
    return services(request).message_batches


def _dotted(path: str) -> str:
    return _INDEX.sub(r".\1", path)


def _shown(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    if batch["processing_status"] == "ended":
        return {**batch, "results_url": f"{request.base_url}v1/messages/batches/{batch['id']}/results"}
    return batch


@router.post(
    "/messages/batches",
    openapi_extra=anthropic_openapi(CreateMessageBatchRequest),
    responses=anthropic_responses("MessageBatch", MessageBatch),
    summary="Create a message batch: each request a Messages body, run in the background",
)
async def create_message_batch(request: Request) -> Response:
    raw = await request.body()
    try:
        if len(raw) < _IN_THREAD_FROM:
            body = parse_json(raw, CreateMessageBatchRequest, parse_large_first=True)
        else:  # validating thousands of Messages bodies would stall every other request
            body = await asyncio.to_thread(parse_json, raw, CreateMessageBatchRequest, parse_large_first=True)
    except InvalidRequest as exc:  # Anthropic names `requests.0.params.max_tokens`, not `requests[0]…`
        raise InvalidRequest(_dotted(exc.message), param=exc.param and _dotted(exc.param)) from None
    created = await _service(request).create(body, orjson.loads(raw)["requests"], owner(request))
    return json_response(_shown(request, created))


@router.get(
    "/messages/batches",
    openapi_extra=_HEADER_DOCS,
    responses=anthropic_responses("MessageBatchList", MessageBatchList),
    summary="List message batches, newest first (`before_id`/`after_id`, `limit` 1 to 1000)",
)
async def list_message_batches(
    request: Request,
    before_id: str | None = None,
    after_id: str | None = None,
    limit: int = Query(default=20),
) -> Response:
    found = await _service(request).list(owner=owner(request), before=before_id, after=after_id, limit=limit)
    found["data"] = [_shown(request, batch) for batch in found["data"]]
    return json_response(found)


@router.get(
    "/messages/batches/{message_batch_id}",
    openapi_extra=_HEADER_DOCS,
    responses=anthropic_responses("MessageBatch", MessageBatch),
    summary="Retrieve a message batch",
)
async def retrieve_message_batch(request: Request, message_batch_id: str) -> Response:
    return json_response(_shown(request, await _service(request).get(message_batch_id, owner(request))))


@router.post(
    "/messages/batches/{message_batch_id}/cancel",
    openapi_extra=_HEADER_DOCS,
    responses=anthropic_responses("MessageBatch", MessageBatch),
    summary="Cancel a message batch: no new request starts; those not started end `canceled`",
)
async def cancel_message_batch(request: Request, message_batch_id: str) -> Response:
    return json_response(_shown(request, await _service(request).cancel(message_batch_id, owner(request))))


@router.delete(
    "/messages/batches/{message_batch_id}",
    openapi_extra=_HEADER_DOCS,
    responses=anthropic_responses("DeletedMessageBatch", DeletedMessageBatch),
    summary="Delete an ended message batch and its results",
)
async def delete_message_batch(request: Request, message_batch_id: str) -> Response:
    return json_response(await _service(request).delete(message_batch_id, owner(request)))


_RESULTS = anthropic_responses("MessageBatchResult", MessageBatchResult)
_RESULTS[200] = {
    "description": "One JSON object per line, one per request, in request order",
    "content": {
        "application/x-jsonl": response_schema("MessageBatchResult", MessageBatchResult)[200]["content"][
            "application/json"
        ]
    },
}


class JSONLResponse(StreamingResponse):
    media_type = "application/x-jsonl"


@router.get(
    "/messages/batches/{message_batch_id}/results",
    response_class=JSONLResponse,
    openapi_extra=_HEADER_DOCS,
    responses=_RESULTS,
    summary="The results of an ended message batch (JSONL)",
)
async def message_batch_results(request: Request, message_batch_id: str) -> Response:
    results = await _service(request).results(message_batch_id, owner(request))

    def lines() -> Iterator[bytes]:
        for result in results:
            yield orjson.dumps(result) + b"\n"

    return JSONLResponse(lines())
