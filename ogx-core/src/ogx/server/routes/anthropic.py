"""Anthropic Messages endpoints: `/v1/messages` (JSON, or SSE with named events) and
`/v1/messages/count_tokens`. Errors on these paths use Anthropic's envelope (registered with the
`ErrorLayer` by the app factory), validation errors included.

Clients authenticate with `x-api-key` (Anthropic's SDK) or `Authorization: Bearer`; the server
has no authentication yet, so both are accepted and neither is required. `anthropic-version` is
accepted and echoed in the response headers; `anthropic-beta` is accepted and ignored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx.anthropic import CountTokensRequest, CreateMessageRequest, MessagesService, error_event
from ogx.anthropic.types import AnthropicErrorResponse, AnthropicMessage, CountTokensResponse
from ogx.server.body import parse_json, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx.server.sse import sse_response

router = APIRouter(prefix="/v1", tags=["anthropic"])

DEFAULT_VERSION = "2023-06-01"
_DEFAULT_VERSION = DEFAULT_VERSION.encode()

HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }
    for name, description in (
        ("anthropic-version", "Accepted and echoed in the response (default 2023-06-01)."),
        ("anthropic-beta", "Accepted and ignored."),
        ("x-api-key", "Accepted (as is `Authorization: Bearer`); the server has no authentication yet."),
    )
]


def anthropic_openapi(model: type[Any]) -> dict[str, Any]:
    return {**request_body(model), "parameters": HEADERS}


def anthropic_responses(name: str, shape: Any) -> dict[int | str, dict[str, Any]]:
    error = response_schema("AnthropicErrorResponse", AnthropicErrorResponse, "Error (Anthropic's envelope)")
    return {**response_schema(name, shape), "4XX": error[200], "5XX": error[200]}


def _same(event: bytes) -> bytes:
    return event


def _service(request: Request) -> MessagesService:
    return services(request).messages


def _version(request: Request) -> bytes:
    # The raw scope headers (lower-cased by the ASGI server): building `request.headers` costs
    # more than the scan.
    for name, value in request.scope["headers"]:
        if name == b"anthropic-version":
            return value or _DEFAULT_VERSION
    return _DEFAULT_VERSION


def _echo_version(response: Response, version: bytes) -> Response:
    response.raw_headers.append((b"anthropic-version", version))
    return response


@router.post(
    "/messages",
    openapi_extra=anthropic_openapi(CreateMessageRequest),
    responses=anthropic_responses("AnthropicMessage", AnthropicMessage),
    summary="Create a message (Anthropic Messages API; JSON, or SSE events when stream is true)",
)
async def create_message(request: Request) -> Response:
    raw = await request.body()
    body = parse_json(raw, CreateMessageRequest, parse_large_first=True)
    result = await _service(request).create(body, raw, owner(request))
    if body.stream:
        stream = await sse_response(result, encode=_same, on_error=error_event, done=None)  # type: ignore[arg-type]
        return _echo_version(stream, _version(request))
    return _echo_version(json_response(result), _version(request))


@router.post(
    "/messages/count_tokens",
    openapi_extra=anthropic_openapi(CountTokensRequest),
    responses=anthropic_responses("AnthropicCountTokensResponse", CountTokensResponse),
    summary="Count the input tokens of a message (the backend's count, else an estimate marked `estimated`)",
)
async def count_message_tokens(request: Request) -> Response:
    raw = await request.body()
    body = parse_json(raw, CountTokensRequest, parse_large_first=True)
    result = await _service(request).count_tokens(body, raw)
    return _echo_version(json_response(result), _version(request))
