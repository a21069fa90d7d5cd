"""The inference router: resolves the client's model id and hands the request to the provider
that serves it. One dict lookup per request; responses are relayed as the provider returns
them, with `model` set back to the id the client used."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from ogx.routing.models import ModelRegistry
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelType,
)


class InferenceRouter:
    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        request.model = entry.provider_model_id
        result = await self.registry.provider(entry).chat_completion(request)
        result["model"] = public_id
        return result

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        request.model = entry.provider_model_id
        chunks = self.registry.provider(entry).chat_completion_stream(request)
        if request.stream_options and request.stream_options.include_usage:
            return _with_usage(chunks, public_id, _prompt_characters(request))
        return _with_model(chunks, public_id)

    async def completion(self, request: CompletionRequest) -> Completion:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        request.model = entry.provider_model_id
        result = await self.registry.provider(entry).completion(request)
        result["model"] = public_id
        return result

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        request.model = entry.provider_model_id
        return _with_model(self.registry.provider(entry).completion_stream(request), public_id)

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.embedding)
        request.model = entry.provider_model_id
        result = await self.registry.provider(entry).embeddings(request)
        result["model"] = public_id
        return result


def _prompt_characters(request: ChatCompletionRequest) -> int:
    return sum(len(str(getattr(message, "content", None) or "")) for message in request.messages)


async def _with_usage(
    chunks: AsyncIterator[ChatCompletionChunk], model: str, prompt_characters: int
) -> AsyncIterator[ChatCompletionChunk]:
    """Relays the stream and guarantees the usage chunk the client asked for: a backend that
    doesn't send one (llama.cpp's Python server, some OpenAI-compatible servers) gets one
    estimated from the deltas (one per token) and the prompt's length, marked `estimated`."""
    deltas = 0
    last: ChatCompletionChunk | None = None
    async for chunk in chunks:
        chunk["model"] = model
        if chunk.get("usage"):
            yield chunk
            return
        if chunk["choices"]:
            deltas += 1
        last = chunk
        yield chunk
    if last is not None:
        completion_tokens = max(
            deltas - 2, 0
        )  # the role-only opening delta and the finish delta carry no token
        prompt_tokens = max(1, prompt_characters // 4)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "estimated": True,
        }
        yield {**last, "choices": [], "usage": usage}  # type: ignore[typeddict-item]


_Chunk = TypeVar("_Chunk", ChatCompletionChunk, Completion)


async def _with_model(chunks: AsyncIterator[_Chunk], model: str) -> AsyncIterator[_Chunk]:
    async for chunk in chunks:
        chunk["model"] = model
        yield chunk
