"""Google Interactions API: `/v1beta/interactions` (create, get, delete, cancel), also served at
`/v1/interactions` and `/v1alpha/interactions`.

`/v1beta` is its spec's version and google-genai 1.x and 2.x's default `api_version`; google-genai
3.x defaults to `v1`; `/v1alpha` is what a client that asks for it calls and what OGX served first.
One set of handlers is mounted at each prefix; in the OpenAPI document the operations under an
alias carry `x-ogx-alias-of`, naming the `/v1beta` path they repeat. Under `/v1` (OpenAI's
namespace) only the Interactions paths answer errors in Google's envelope.

A client that sends `Api-Revision: 2026-05-20`, or is google-genai 2 or later (later 2.x and 3.x
no longer send it), gets that revision's shapes (`steps` instead of `outputs`; `ogx.google.revision`).

Google's SDK sends its key as `x-goog-api-key`; others send `Authorization: Bearer`. Both are
accepted (the server has no authentication yet; when it does, it reads either header here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx.google import revision
from ogx.google.errors import stream_error
from ogx.google.schema import CreateInteractionRequest, Interaction, InteractionErrorBody
from ogx.google.stream import encode
from ogx.server.body import parse_json, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx.server.sse import sse_response

PREFIX = "/v1beta"
# where errors are in Google's envelope (app.py gives OGX's own APIs under /v1beta and /v1alpha OpenAI's)
ENVELOPE_PREFIXES = (PREFIX, "/v1alpha", "/v1/interactions")

_ERROR = {
    "default": response_schema("GoogleErrorBody", InteractionErrorBody, "Error, in Google's envelope")[200]
}
_INTERACTION = response_schema("Interaction", Interaction) | _ERROR
_DELETED = response_schema("InteractionDeleted", dict[str, Any], "Deleted: an empty object") | _ERROR


async def create_interaction(request: Request) -> Response:
    steps = revision.wants_steps(request)
    raw = await request.body()
    body = parse_json(revision.request_body(raw) if steps else raw, CreateInteractionRequest)
    result = await services(request).interactions.create(body, owner(request))
    if isinstance(result, dict):
        return _interaction(result, steps)
    return await _events(result, steps)


def _interaction(resource: dict[str, Any], steps: bool) -> Response:
    return json_response(revision.interaction(resource) if steps else resource)


async def _events(events: AsyncIterator[dict[str, Any]], steps: bool) -> Response:
    return await sse_response(
        events, encode=revision.encode if steps else encode, on_error=stream_error, done=None
    )


async def get_interaction(
    request: Request,
    id: str,
    stream: bool = False,
    include_input: bool = False,
    last_event_id: str | None = None,
) -> Response:
    interactions = services(request).interactions
    steps = revision.wants_steps(request)
    if stream:
        events = await interactions.replay(
            id, owner(request), include_input=include_input, last_event_id=last_event_id
        )
        return await _events(events, steps)
    return _interaction(await interactions.get(id, owner(request), include_input=include_input), steps)


async def delete_interaction(request: Request, id: str) -> Response:
    return json_response(await services(request).interactions.delete(id, owner(request)))


async def cancel_interaction(request: Request, id: str) -> Response:
    steps = revision.wants_steps(request)
    return _interaction(await services(request).interactions.cancel(id, owner(request)), steps)


# (method, path, handler, responses, summary, request body)
_ROUTES = (
    (
        "POST",
        "/interactions",
        create_interaction,
        _INTERACTION,
        "Create an interaction (JSON, SSE when stream is true, or in the background)",
        request_body(CreateInteractionRequest),
    ),
    ("GET", "/interactions/{id}", get_interaction, _INTERACTION, "Get a stored interaction", {}),
    ("DELETE", "/interactions/{id}", delete_interaction, _DELETED, "Delete a stored interaction", {}),
    (
        "POST",
        "/interactions/{id}/cancel",
        cancel_interaction,
        _INTERACTION,
        "Cancel a background interaction that is still running",
        {},
    ),
)


def interactions_router(prefix: str) -> APIRouter:
    """The Interactions API under `prefix`; under an alias, each operation names its `PREFIX` path."""
    router = APIRouter(prefix=prefix, tags=["google"])
    for method, path, handler, responses, summary, body in _ROUTES:
        alias = {} if prefix == PREFIX else {"x-ogx-alias-of": PREFIX + path}
        router.add_api_route(
            path,
            handler,
            methods=[method],
            responses=responses,
            summary=summary if not alias else f"{summary} (alias of {PREFIX}{path})",
            openapi_extra=body | alias or None,
        )
    return router


routers = [interactions_router(prefix) for prefix in (PREFIX, "/v1alpha")]
# Under OpenAI's `/v1`: app.py includes it after every other router, so that the other `/v1`
# requests do not try its four routes first (about 3 µs).
v1_router = interactions_router("/v1")
