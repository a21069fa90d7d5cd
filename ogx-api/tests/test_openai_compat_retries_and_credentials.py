"""Bounded retries of idempotent calls, and per-request credentials from X-OGX-Provider-Data."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from ogx_api import InvalidRequest, ProviderUnavailable, RateLimited, Unauthorized
from ogx_api.inference import ChatCompletionRequest, EmbeddingsRequest
from ogx_api.openai_compat import OpenAICompatInferenceAdapter
from ogx_api.request_context import provider_data, reset_provider_data, set_provider_data

MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "x"}]}
EMBEDDINGS = {"object": "list", "data": [], "model": "m", "usage": {"prompt_tokens": 0, "total_tokens": 0}}


class KeyData(BaseModel):
    backend_api_key: SecretStr | None = None


class KeyedAdapter(OpenAICompatInferenceAdapter):
    provider_data_model: ClassVar[type[BaseModel] | None] = KeyData
    provider_data_api_key_field: ClassVar[str] = "backend_api_key"


@asynccontextmanager
async def serving(
    adapter: Any,
    answers: list[httpx.Response],
    cls: type[OpenAICompatInferenceAdapter] = OpenAICompatInferenceAdapter,
    **fields: Any,
) -> AsyncIterator[tuple[OpenAICompatInferenceAdapter, list[httpx.Request]]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    async with adapter(handler, cls=cls, retry_backoff=0.01, **fields) as provider:
        yield provider, seen


def chat() -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    )


@pytest.mark.parametrize("failure", [503, 502, 500, 429, 504])
async def test_model_listing_is_retried_after_a_transient_failure(compat_adapter: Any, failure: int) -> None:
    answers = [httpx.Response(failure, json={"error": {"message": "busy"}}), httpx.Response(200, json=MODELS)]
    async with serving(compat_adapter, answers) as (provider, seen):
        models = await provider.list_models()
    assert [m.provider_model_id for m in models] == ["m"]
    assert len(seen) == 2


async def test_retries_are_bounded(compat_adapter: Any) -> None:
    async with serving(compat_adapter, [httpx.Response(503, json={"error": "down"})], max_retries=3) as (
        provider,
        seen,
    ):
        with pytest.raises(ProviderUnavailable):
            await provider.list_models()
    assert len(seen) == 4, "one try and three retries"


async def test_embeddings_are_retried_but_chat_is_not(compat_adapter: Any) -> None:
    busy = httpx.Response(503, json={"error": "busy"})
    async with serving(compat_adapter, [busy, httpx.Response(200, json=EMBEDDINGS)]) as (provider, seen):
        await provider.embeddings(EmbeddingsRequest(model="m", input="x"))
        assert len(seen) == 2
    async with serving(compat_adapter, [busy, httpx.Response(200, json={})]) as (provider, seen):
        with pytest.raises(ProviderUnavailable):
            await provider.chat_completion(chat())
        assert len(seen) == 1, "a generation is not idempotent: never resent"


async def test_client_errors_are_not_retried(compat_adapter: Any) -> None:
    async with serving(compat_adapter, [httpx.Response(400, json={"error": {"message": "bad"}})]) as (
        provider,
        seen,
    ):
        with pytest.raises(InvalidRequest):
            await provider.list_models()
    assert len(seen) == 1


async def test_retry_after_is_honoured(compat_adapter: Any) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"})
    async with serving(compat_adapter, [limited, httpx.Response(200, json=MODELS)]) as (provider, _):
        started = time.monotonic()
        await provider.list_models()
    assert time.monotonic() - started >= 0.9


async def test_rate_limit_after_the_last_retry_is_raised_with_retry_after(compat_adapter: Any) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"})
    async with serving(compat_adapter, [limited], max_retries=1) as (provider, _):
        with pytest.raises(RateLimited):
            await provider.list_models()


async def with_provider_data(data: dict[str, Any] | None, call: Callable[[], Any]) -> Any:
    token = set_provider_data(data)
    try:
        return await call()
    finally:
        reset_provider_data(token)


async def test_provider_data_key_replaces_the_configured_key_for_that_request_only(
    compat_adapter: Any,
) -> None:
    ok = httpx.Response(
        200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
    )
    async with serving(compat_adapter, [ok], cls=KeyedAdapter, api_key="configured") as (provider, seen):
        await with_provider_data(
            {"backend_api_key": "per-request", "other": 1}, lambda: provider.chat_completion(chat())
        )
        await provider.chat_completion(chat())
        await with_provider_data({"unrelated_key": "x"}, lambda: provider.chat_completion(chat()))
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer per-request",
        "Bearer configured",
        "Bearer configured",
    ]


async def test_provider_data_reaches_streams_too(compat_adapter: Any) -> None:
    sse = b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[]}\n\ndata: [DONE]\n\n'
    answer = httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    async with serving(compat_adapter, [answer], cls=KeyedAdapter) as (provider, seen):

        async def consume() -> list[Any]:
            return [c async for c in provider.chat_completion_stream(chat())]

        await with_provider_data({"backend_api_key": "k"}, consume)
    assert seen[0].headers["authorization"] == "Bearer k"


async def test_a_clients_own_key_never_appears_in_error_messages(compat_adapter: Any) -> None:
    refused = httpx.Response(401, json={"error": {"message": "Incorrect API key provided: sk-client-own"}})
    async with serving(compat_adapter, [refused], cls=KeyedAdapter) as (provider, _):
        with pytest.raises(Unauthorized) as caught:
            await with_provider_data(
                {"backend_api_key": "sk-client-own"}, lambda: provider.chat_completion(chat())
            )
    assert caught.value.message == "Incorrect API key provided: ***"


def test_invalid_provider_data_names_the_field_but_not_the_value() -> None:
    token = set_provider_data({"backend_api_key": ["sk-secret-value"]})
    try:
        with pytest.raises(InvalidRequest) as caught:
            provider_data(KeyData)
    finally:
        reset_provider_data(token)
    assert "backend_api_key" in caught.value.message
    assert "sk-secret-value" not in caught.value.message
    assert caught.value.param == "X-OGX-Provider-Data"
