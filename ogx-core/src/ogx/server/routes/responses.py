"""OpenAI Responses API: `/v1/responses` (create, list, get, delete, cancel, input items)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ogx.responses.compact import CompactRequest
from ogx.responses.schema import CreateResponseRequest
from ogx.responses.shapes import (
    CompactedResponse,
    DeletedResponse,
    InputItemList,
    ResponseList,
    ResponseObject,
)
from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response, openai_envelope
from ogx.server.services import owner, services
from ogx.server.sse import openai_event, sse_response
from ogx_api import OGXError

router = APIRouter(prefix="/v1", tags=["responses"])

_RESPONSE = response_schema("Response", ResponseObject)


def _stream_error(exc: OGXError) -> bytes:
    return openai_event({"type": "error", "sequence_number": 0, "error": openai_envelope(exc)["error"]})


@router.post(
    "/responses",
    openapi_extra=request_body(CreateResponseRequest),
    responses=_RESPONSE,
    summary="Create a response (JSON, SSE when stream is true, or in the background)",
)
async def create_response(request: Request) -> Response:
    body = await parse_body(request, CreateResponseRequest)
    result = await services(request).responses.create(body, owner(request))
    if isinstance(result, dict):
        return json_response(result)
    return await sse_response(result, on_error=_stream_error, done=None)


@router.post(
    "/responses/compact",
    openapi_extra=request_body(CompactRequest),
    responses=response_schema("CompactResource", CompactedResponse),
    summary="Compact a conversation into a summary item a later request continues from",
)
async def compact_response(request: Request) -> Response:
    body = await parse_body(request, CompactRequest)
    return json_response(await services(request).responses.compact(body, owner(request)))


@router.get(
    "/responses",
    responses=response_schema("ResponseList", ResponseList),
    summary="List stored responses",
)
async def list_responses(
    request: Request,
    after: str | None = None,
    limit: int = 20,
    order: Literal["asc", "desc"] = "desc",
    model: str | None = None,
) -> Response:
    page = await services(request).responses.list(
        owner=owner(request), after=after, limit=limit, order=order, model=model
    )
    return json_response(page)


@router.get("/responses/{response_id}", responses=_RESPONSE, summary="Get a stored response")
async def get_response(
    request: Request, response_id: str, include: Annotated[list[str] | None, Query()] = None
) -> Response:
    return json_response(await services(request).responses.get(response_id, owner(request)))


@router.delete(
    "/responses/{response_id}",
    responses=response_schema("ResponseDeleted", DeletedResponse),
    summary="Delete a stored response",
)
async def delete_response(request: Request, response_id: str) -> Response:
    return json_response(await services(request).responses.delete(response_id, owner(request)))


@router.post(
    "/responses/{response_id}/cancel",
    responses=_RESPONSE,
    summary="Cancel a background response that is still queued or running",
)
async def cancel_response(request: Request, response_id: str) -> Response:
    return json_response(await services(request).responses.cancel(response_id, owner(request)))


@router.get(
    "/responses/{response_id}/input_items",
    responses=response_schema("ResponseItemList", InputItemList),
    summary="List a stored response's input items",
)
async def list_input_items(
    request: Request,
    response_id: str,
    after: str | None = None,
    limit: int = 20,
    order: Literal["asc", "desc"] = "desc",
    include: Annotated[list[str] | None, Query()] = None,
) -> Response:
    page: dict[str, Any] = await services(request).responses.input_items(
        response_id, owner(request), after=after, limit=limit, order=order
    )
    return json_response(page)
