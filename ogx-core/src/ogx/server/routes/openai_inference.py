"""OpenAI inference endpoints: chat completions (and stored ones), completions, embeddings."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response, openai_envelope
from ogx.server.services import owner, services
from ogx.server.sse import openai_event, sse_response
from ogx_api import OGXError
from ogx_api.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from ogx_api.inference.responses import (
    ChatCompletion,
    ChatCompletionDeleted,
    ChatCompletionList,
    ChatCompletionMessageList,
    Completion,
    EmbeddingsResponse,
    StoredChatCompletion,
)
from ogx_api.metadata import Metadata

router = APIRouter(prefix="/v1", tags=["inference"])


def _stream_error(error: OGXError) -> bytes:
    return openai_event(openai_envelope(error))


@router.post(
    "/chat/completions",
    openapi_extra=request_body(ChatCompletionRequest),
    responses=response_schema("ChatCompletion", ChatCompletion),
    summary="Create a chat completion (JSON, or SSE when stream is true)",
)
async def create_chat_completion(request: Request) -> Response:
    body = await parse_body(request, ChatCompletionRequest)
    inference = services(request).inference
    if body.stream:
        stream = await inference.chat_completion_stream(body, owner(request))
        return await sse_response(stream, on_error=_stream_error)
    return json_response(await inference.chat_completion(body, owner(request)))


@router.post(
    "/completions",
    openapi_extra=request_body(CompletionRequest),
    responses=response_schema("Completion", Completion),
    summary="Create a text completion (JSON, or SSE when stream is true)",
)
async def create_completion(request: Request) -> Response:
    body = await parse_body(request, CompletionRequest)
    inference = services(request).inference
    if body.stream:
        return await sse_response(await inference.completion_stream(body), on_error=_stream_error)
    return json_response(await inference.completion(body))


@router.post(
    "/embeddings",
    openapi_extra=request_body(EmbeddingsRequest),
    responses=response_schema("EmbeddingsResponse", EmbeddingsResponse),
    summary="Create embeddings",
)
async def create_embeddings(request: Request) -> Response:
    body = await parse_body(request, EmbeddingsRequest)
    return json_response(await services(request).inference.embeddings(body))


# -- stored chat completions (`store: true`) --------------------------------------------------


@router.get(
    "/chat/completions",
    responses=response_schema("ChatCompletionList", ChatCompletionList),
    summary="List stored chat completions",
)
async def list_chat_completions(
    request: Request,
    after: str | None = None,
    limit: int = Query(default=20),
    order: Literal["asc", "desc"] = "asc",
    model: str | None = None,
) -> Response:
    metadata = _metadata_filters(request)
    store = services(request).chat_completions
    return json_response(
        await store.list(
            owner=owner(request), after=after, limit=limit, order=order, model=model, metadata=metadata
        )
    )


@router.get(
    "/chat/completions/{completion_id}",
    responses=response_schema("StoredChatCompletion", StoredChatCompletion),
    summary="Get a stored chat completion",
)
async def get_chat_completion(request: Request, completion_id: str) -> Response:
    return json_response(await services(request).chat_completions.get(completion_id, owner(request)))


class UpdateChatCompletion(BaseModel):
    metadata: Metadata = Field(description="Replaces the stored completion's metadata")


@router.post(
    "/chat/completions/{completion_id}",
    responses=response_schema("StoredChatCompletion", StoredChatCompletion),
    summary="Update a stored chat completion's metadata",
)
async def update_chat_completion(
    request: Request, completion_id: str, body: UpdateChatCompletion
) -> Response:
    store = services(request).chat_completions
    return json_response(await store.update_metadata(completion_id, body.metadata, owner(request)))


@router.delete(
    "/chat/completions/{completion_id}",
    responses=response_schema("ChatCompletionDeleted", ChatCompletionDeleted),
    summary="Delete a stored chat completion",
)
async def delete_chat_completion(request: Request, completion_id: str) -> Response:
    return json_response(await services(request).chat_completions.delete(completion_id, owner(request)))


@router.get(
    "/chat/completions/{completion_id}/messages",
    responses=response_schema("ChatCompletionMessageList", ChatCompletionMessageList),
    summary="List a stored chat completion's input messages",
)
async def list_chat_completion_messages(
    request: Request,
    completion_id: str,
    after: str | None = None,
    limit: int = Query(default=20, ge=1, le=100),
    order: Literal["asc", "desc"] = "asc",
) -> Response:
    store = services(request).chat_completions
    return json_response(
        await store.messages(completion_id, owner=owner(request), after=after, limit=limit, order=order)
    )


def _metadata_filters(request: Request) -> dict[str, Any]:
    """`metadata[key]=value` query parameters, as the OpenAI SDK sends them."""
    return {
        key[len("metadata[") : -1]: value
        for key, value in request.query_params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }
