"""The echo provider: one model, `echo-1`, whose answer is `prefix` + the last user message."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import BaseModel

from ogx_api import Api, BaseProvider, HealthState, HealthStatus, NotImplementedByProvider
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ProviderModel,
    UserMessage,
)
from ogx_api.inference.responses import ChunkDelta, FinishReason

MODEL = "echo-1"


class EchoConfig(BaseModel):
    prefix: str = ""


class EchoProvider(BaseProvider):
    def __init__(self, config: EchoConfig) -> None:
        self.config = config

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def list_models(self) -> list[ProviderModel]:
        return [ProviderModel(provider_model_id=MODEL)]

    def _reply(self, request: ChatCompletionRequest) -> str:
        last = next((m for m in reversed(request.messages) if isinstance(m, UserMessage)), None)
        if last is None:
            return self.config.prefix
        if isinstance(last.content, str):
            return self.config.prefix + last.content
        return self.config.prefix + "".join(getattr(part, "text", "") for part in last.content)

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        reply = self._reply(request)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": 1,
                "completion_tokens": len(reply.split()),
                "total_tokens": 1 + len(reply.split()),
            },
        }

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        reply = self._reply(request)
        chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: ChunkDelta, finish_reason: FinishReason | None = None) -> ChatCompletionChunk:
            return {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }

        yield chunk({"role": "assistant", "content": ""})
        for index, word in enumerate(reply.split(" ")):
            yield chunk({"content": word if index == 0 else " " + word})
        yield chunk({}, "stop")

    async def completion(self, request: CompletionRequest) -> Completion:
        raise NotImplementedByProvider("remote::echo serves chat completions only")

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        raise NotImplementedByProvider("remote::echo serves chat completions only")
        yield  # an async generator, like the protocol's streaming methods

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        raise NotImplementedByProvider("remote::echo serves chat completions only")


def create_provider(config: EchoConfig, deps: Mapping[Api, Any]) -> EchoProvider:
    return EchoProvider(config)
