"""The inference router: resolves the client's model id and hands the request to the provider
that serves it. One dict lookup per request; responses are relayed as the provider returns
them, with `model` set back to the id the client used.

It also owns what holds for every provider: stored chat completions (`store: true`, written
off the request path), the usage chunk a client asked for, and base64 embeddings."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from ogx.ids import random_hex
from ogx.routing.models import ModelRegistry
from ogx.stores.chat_completions import ChatCompletionStore
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
from ogx_api.inference.assembly import ChatCompletionAssembler, with_required_fields


class InferenceRouter:
    def __init__(self, registry: ModelRegistry, store: ChatCompletionStore | None = None) -> None:
        self.registry = registry
        self.store = store

    async def chat_completion(
        self, request: ChatCompletionRequest, owner: str | None = None
    ) -> ChatCompletion:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        inputs = _stored_inputs(request) if self._storing(request) else None
        request.model = entry.provider_model_id
        result = with_required_fields(await self.registry.provider(entry).chat_completion(request))
        result["model"] = public_id
        if inputs is not None and self.store is not None:
            result["id"] = _new_id()
            self.store.save(dict(result), inputs, request.metadata, owner)
        return result

    async def chat_completion_stream(
        self, request: ChatCompletionRequest, owner: str | None = None
    ) -> AsyncIterator[ChatCompletionChunk]:
        public_id = request.model
        entry = self.registry.resolve(public_id, ModelType.llm)
        inputs = _stored_inputs(request) if self._storing(request) else None
        request.model = entry.provider_model_id
        chunks = self.registry.provider(entry).chat_completion_stream(request)
        if request.stream_options and request.stream_options.include_usage:
            chunks = _with_usage(chunks, _prompt_characters(request))
        if inputs is not None and self.store is not None:
            return _stored(_with_model(chunks, public_id), self.store, inputs, request.metadata, owner)
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
        as_base64 = request.encoding_format == "base64"
        if as_base64:  # providers return floats; every one supports base64 through this
            request.encoding_format = "float"
        result = await self.registry.provider(entry).embeddings(request)
        result["model"] = public_id
        if as_base64:
            for item in result["data"]:
                vector = item["embedding"]
                if isinstance(vector, list):
                    item["embedding"] = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return result

    def _storing(self, request: ChatCompletionRequest) -> bool:
        return bool(request.store) and self.store is not None


def _new_id() -> str:
    return f"chatcmpl-{random_hex(16)}"


def _stored_inputs(request: ChatCompletionRequest) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude_none=True) for m in request.messages]


async def _stored(
    chunks: AsyncIterator[ChatCompletionChunk],
    store: ChatCompletionStore,
    inputs: list[dict[str, Any]],
    metadata: dict[str, str] | None,
    owner: str | None,
) -> AsyncIterator[ChatCompletionChunk]:
    """Relays the stream under one new id and stores the assembled completion once it ends."""
    completion_id = _new_id()
    assembler = ChatCompletionAssembler()
    async for chunk in chunks:
        chunk["id"] = completion_id
        assembler.add(chunk)
        yield chunk
    store.save(dict(assembler.result()), inputs, metadata, owner)


def _prompt_characters(request: ChatCompletionRequest) -> int:
    return sum(len(str(getattr(message, "content", None) or "")) for message in request.messages)


async def _with_usage(
    chunks: AsyncIterator[ChatCompletionChunk], prompt_characters: int
) -> AsyncIterator[ChatCompletionChunk]:
    """Relays the stream and guarantees the usage chunk the client asked for: a backend that
    doesn't send one (llama.cpp's Python server, some OpenAI-compatible servers) gets one
    estimated from the deltas (one per token) and the prompt's length, marked `estimated`."""
    deltas = 0
    last: ChatCompletionChunk | None = None
    async for chunk in chunks:
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
