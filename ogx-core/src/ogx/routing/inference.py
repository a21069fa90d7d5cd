"""The inference router: resolves the client's model id and hands the request to the provider
that serves it. One dict lookup per request; responses are relayed as the provider returns
them, with `model` set back to the id the client used."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

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

from ogx.routing.models import ModelRegistry


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

    async def chat_completion_stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        request.model = entry.provider_model_id
        return _with_model(self.registry.provider(entry).chat_completion_stream(request), public_id)

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


_Chunk = TypeVar("_Chunk", ChatCompletionChunk, Completion)


async def _with_model(chunks: AsyncIterator[_Chunk], model: str) -> AsyncIterator[_Chunk]:
    async for chunk in chunks:
        chunk["model"] = model
        yield chunk
