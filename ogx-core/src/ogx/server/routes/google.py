"""Google Interactions API: `/v1alpha/interactions` (create, get, delete, cancel).

Google's SDK sends its key as `x-goog-api-key`; others send `Authorization: Bearer`. Both are
accepted (the server has no authentication yet; when it does, it reads either header here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx.google.errors import stream_error
from ogx.google.schema import CreateInteractionRequest, Interaction, InteractionErrorBody
from ogx.google.stream import encode
from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx.server.sse import sse_response

router = APIRouter(prefix="/v1alpha", tags=["google"])

_ERROR = {
    "default": response_schema("GoogleErrorBody", InteractionErrorBody, "Error, in Google's envelope")[200]
}
_INTERACTION = response_schema("Interaction", Interaction) | _ERROR


@router.post(
    "/interactions",
    openapi_extra=request_body(CreateInteractionRequest),
    responses=_INTERACTION,
    summary="Create an interaction (JSON, SSE when stream is true, or in the background)",
)
async def create_interaction(request: Request) -> Response:
    body = await parse_body(request, CreateInteractionRequest)
    result = await services(request).interactions.create(body, owner(request))
    if isinstance(result, dict):
        return json_response(result)
    return await sse_response(result, encode=encode, on_error=stream_error, done=None)


@router.get("/interactions/{id}", responses=_INTERACTION, summary="Get a stored interaction")
async def get_interaction(
    request: Request,
    id: str,
    stream: bool = False,
    include_input: bool = False,
    last_event_id: str | None = None,
) -> Response:
    interactions = services(request).interactions
    if stream:
        events = await interactions.replay(
            id, owner(request), include_input=include_input, last_event_id=last_event_id
        )
        return await sse_response(events, encode=encode, on_error=stream_error, done=None)
    return json_response(await interactions.get(id, owner(request), include_input=include_input))


@router.delete(
    "/interactions/{id}",
    responses=response_schema("InteractionDeleted", dict[str, Any], "Deleted: an empty object") | _ERROR,
    summary="Delete a stored interaction",
)
async def delete_interaction(request: Request, id: str) -> Response:
    return json_response(await services(request).interactions.delete(id, owner(request)))


@router.post(
    "/interactions/{id}/cancel",
    responses=_INTERACTION,
    summary="Cancel a background interaction that is still running",
)
async def cancel_interaction(request: Request, id: str) -> Response:
    return json_response(await services(request).interactions.cancel(id, owner(request)))
