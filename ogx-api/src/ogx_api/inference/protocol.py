"""The inference provider protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ogx_api.inference.requests import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from ogx_api.inference.responses import ChatCompletion, ChatCompletionChunk, Completion, EmbeddingsResponse
from ogx_api.provider import Provider


class ModelType(StrEnum):
    llm = "llm"
    embedding = "embedding"


class ProviderModel(BaseModel):
    """A model as a provider knows it. `metadata` carries what the model needs described:
    `embedding_dimension` for embedding models, `context_length` where known."""

    model_config = ConfigDict(frozen=True)

    provider_model_id: str = Field(min_length=1)
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class InferenceProvider(Provider, Protocol):
    """Serves chat completions, completions and embeddings.

    `request.model` is the provider's own model id (the core has already resolved the
    client's model id). Streaming methods are called only when `request.stream` is true and
    yield chunks as they come. Failures are raised as `ogx_api.errors` types.
    """

    async def list_models(self) -> list[ProviderModel]: ...

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion: ...

    def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]: ...

    async def completion(self, request: CompletionRequest) -> Completion: ...

    def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]: ...

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse: ...
