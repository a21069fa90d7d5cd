"""OpenAI inference endpoints: chat completions, completions, embeddings."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response, openai_envelope
from ogx.server.services import services
from ogx.server.sse import openai_event, sse_response
from ogx_api.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from ogx_api.inference.responses import ChatCompletion, Completion, EmbeddingsResponse

router = APIRouter(prefix="/v1", tags=["inference"])


def _stream_error(error) -> bytes:
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
        return await sse_response(await inference.chat_completion_stream(body), on_error=_stream_error)
    return json_response(await inference.chat_completion(body))


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
