"""A deterministic in-process inference provider for tests: it echoes, streams word by word,
embeds by hashing, and fails on request. Use it to test code that sits above providers (the
core's routing, a client) without a model."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from ogx_api import (
    Api,
    BaseProvider,
    HealthState,
    HealthStatus,
    NotImplementedByProvider,
    ProviderSpec,
    errors,
)
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelType,
    ProviderModel,
)
from ogx_api.request_context import provider_data

FAKE_PROVIDER_TYPE = "inline::fake"


def fake_provider_spec() -> ProviderSpec:
    return ProviderSpec(
        api=Api.inference,
        provider_type=FAKE_PROVIDER_TYPE,
        config_class="ogx_api.testing.fakes:FakeInferenceConfig",
        factory="ogx_api.testing.fakes:FakeInferenceProvider",
        provider_data_validator="ogx_api.testing.fakes:FakeProviderData",
        description="Deterministic fake inference for tests",
    )


class FakeProviderData(BaseModel):
    """The fake's part of `X-OGX-Provider-Data`; what it received is kept in `seen_api_keys`."""

    fake_api_key: SecretStr | None = None


class FakeInferenceConfig(BaseModel):
    llm_models: list[str] = Field(default_factory=lambda: ["fake-llm"])
    embedding_models: list[str] = Field(default_factory=lambda: ["fake-embed"])
    embedding_dimension: int = 8
    api_key: SecretStr | None = None
    fail_list_models: bool = False
    fail_before_stream: str | None = Field(default=None, description="an ogx_api.errors class name to raise")
    fail_mid_stream: str | None = Field(default=None, description="an ogx_api.errors class name to raise")
    stream_delay: float = Field(default=0.0, description="seconds to wait before each streamed chunk")


class FakeInferenceProvider(BaseProvider):
    def __init__(self, config: FakeInferenceConfig, deps: dict[Any, Any] | None = None) -> None:
        self.config = config
        self.requests: list[Any] = []  # every request received, newest last
        self.streams_closed = 0  # streams that ended, fully read or not
        self.seen_api_keys: list[str | None] = []  # fake_api_key of each chat request

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def list_models(self) -> list[ProviderModel]:
        if self.config.fail_list_models:
            raise errors.ProviderUnavailable("fake backend is down")
        return [ProviderModel(provider_model_id=m) for m in self.config.llm_models] + [
            ProviderModel(
                provider_model_id=m,
                model_type=ModelType.embedding,
                metadata={"embedding_dimension": self.config.embedding_dimension},
            )
            for m in self.config.embedding_models
        ]

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.requests.append(request)
        data = provider_data(FakeProviderData)
        key = data.fake_api_key if data else None
        self.seen_api_keys.append(key.get_secret_value() if key else None)
        text = _reply(request)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(request, text),
        }

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        self.requests.append(request)
        _maybe_fail(self.config.fail_before_stream)
        text = _reply(request)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: Any = None, usage: Any = None) -> ChatCompletionChunk:
            out: ChatCompletionChunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            if usage is not None:
                out["choices"] = []
                out["usage"] = usage
            return out

        try:
            yield chunk({"role": "assistant", "content": ""})
            for index, word in enumerate(text.split(" ")):
                if index == 1:
                    _maybe_fail(self.config.fail_mid_stream)
                if self.config.stream_delay:
                    await asyncio.sleep(self.config.stream_delay)
                yield chunk({"content": word if index == 0 else " " + word})
            yield chunk({}, finish="stop")
            if request.stream_options and request.stream_options.include_usage:
                yield chunk({}, usage=_usage(request, text))
        finally:
            self.streams_closed += 1

    async def completion(self, request: CompletionRequest) -> Completion:
        prompt = request.prompt if isinstance(request.prompt, str) else str(request.prompt)
        return {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [{"index": 0, "text": f" after {prompt}", "finish_reason": "stop", "logprobs": None}],
        }

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        yield await self.completion(request)

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        if request.dimensions is not None:
            raise NotImplementedByProvider("the fake provider's vectors have a fixed dimension")
        inputs = [request.input] if isinstance(request.input, str) else list(request.input)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _vector(str(text), self.config.embedding_dimension),
            }
            for i, text in enumerate(inputs)
        ]
        tokens = sum(len(str(t).split()) for t in inputs)
        return {
            "object": "list",
            "data": data,  # type: ignore[typeddict-item]
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _maybe_fail(error_name: str | None) -> None:
    if error_name:
        raise getattr(errors, error_name)(f"fake {error_name}")


def _reply(request: ChatCompletionRequest) -> str:
    last = request.messages[-1]
    content = getattr(last, "content", "") or ""
    if not isinstance(content, str):
        content = " ".join(getattr(part, "text", "") for part in content)
    return f"echo: {content}"


def _usage(request: ChatCompletionRequest, text: str) -> dict[str, int]:
    prompt = sum(len(str(getattr(m, "content", "") or "").split()) for m in request.messages)
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _vector(text: str, dimension: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]
