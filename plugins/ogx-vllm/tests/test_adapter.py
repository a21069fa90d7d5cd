"""The vLLM adapter maps requests, model lists, streams and errors correctly (offline: every
test injects an `httpx.MockTransport`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ogx_api import (
    InvalidRequest,
    NotFound,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from ogx_api.inference import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
    InferenceProvider,
    ModelType,
)
from ogx_vllm.adapter import VLLMInferenceAdapter, create_provider
from ogx_vllm.config import VLLMConfig

BASE_URL = "http://vllm.test:8000/v1"
API_KEY = "sk-vllm-secret"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"

Handler = Callable[[httpx.Request], httpx.Response]


@asynccontextmanager
async def vllm(handler: Handler, **config: Any) -> AsyncIterator[VLLMInferenceAdapter]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        provider = create_provider(
            VLLMConfig.model_validate({"base_url": BASE_URL, "api_key": API_KEY, **config}), {}, client=client
        )
        await provider.start()
        try:
            yield provider
        finally:
            await provider.close()


def chat_request(**fields: Any) -> ChatCompletionRequest:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8} | fields
    return ChatCompletionRequest.model_validate(body)


def chat_completion_body(content: str = "Hello!") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def chunk(content: str | None = None, finish_reason: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def sse(*events: dict[str, Any] | str) -> bytes:
    lines = [f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n" for event in events]
    return "".join(lines).encode()


# -- construction ------------------------------------------------------------------------


def test_factory_returns_an_inference_provider() -> None:
    provider = create_provider(VLLMConfig(base_url=BASE_URL), {})
    assert isinstance(provider, InferenceProvider)


def test_config_defaults_come_from_vllm_environment_variables() -> None:
    code = "from ogx_vllm.config import VLLMConfig; c = VLLMConfig(); print(c.base_url, c.api_key.get_secret_value())"
    env = {**os.environ, "VLLM_URL": "http://gpu-box:9000/v1/", "VLLM_API_KEY": "from-env"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["http://gpu-box:9000/v1", "from-env"]


def test_config_without_environment_points_at_local_vllm() -> None:
    code = "from ogx_vllm.config import VLLMConfig; c = VLLMConfig(); print(c.base_url, c.api_key)"
    env = {k: v for k, v in os.environ.items() if k not in ("VLLM_URL", "VLLM_API_KEY")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["http://localhost:8000/v1", "None"]


def test_api_key_is_hidden_in_config_repr() -> None:
    config = VLLMConfig.model_validate({"base_url": BASE_URL, "api_key": API_KEY})
    assert API_KEY not in repr(config)
    assert API_KEY not in str(config.model_dump())


# -- request mapping ---------------------------------------------------------------------


async def test_chat_completion_posts_the_payload_with_auth_and_relays_the_answer() -> None:
    seen: list[httpx.Request] = []
    body = chat_completion_body()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    request = chat_request(temperature=0, top_k=5, chat_template_kwargs={"enable_thinking": False})
    async with vllm(handler) as provider:
        response = await provider.chat_completion(request)

    assert response == body
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == f"{BASE_URL}/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent.content) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 8,
        "temperature": 0,
        "top_k": 5,
        "chat_template_kwargs": {"enable_thinking": False},
    }


async def test_no_authorization_header_without_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=chat_completion_body())

    async with vllm(handler, api_key=None) as provider:
        await provider.chat_completion(chat_request())

    assert "authorization" not in seen[0].headers


async def test_completion_and_embeddings_use_their_endpoints() -> None:
    seen: dict[str, Any] = {}
    embeddings = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "BAAI/bge-m3",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    completion = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "text": " there", "finish_reason": "length", "logprobs": None}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.path] = json.loads(request.content)
        return httpx.Response(
            200, json=embeddings if request.url.path.endswith("/embeddings") else completion
        )

    async with vllm(handler) as provider:
        assert await provider.completion(CompletionRequest(model=MODEL, prompt="Hello")) == completion
        assert await provider.embeddings(EmbeddingsRequest(model="BAAI/bge-m3", input=["a"])) == embeddings

    assert seen == {
        "/v1/completions": {"model": MODEL, "prompt": "Hello"},
        "/v1/embeddings": {"model": "BAAI/bge-m3", "input": ["a"]},
    }


# -- models ------------------------------------------------------------------------------


async def test_list_models_reads_vllm_model_entries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and str(request.url) == f"{BASE_URL}/models"
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": [
                    {
                        "id": MODEL,
                        "object": "model",
                        "owned_by": "vllm",
                        "root": MODEL,
                        "max_model_len": 8192,
                    },
                    {"id": "BAAI/bge-m3", "object": "model", "owned_by": "vllm", "max_model_len": 8192},
                    {"id": "sql-lora", "object": "model", "owned_by": "vllm", "parent": MODEL},
                ],
            },
        )

    async with vllm(handler) as provider:
        models = {model.provider_model_id: model for model in await provider.list_models()}

    assert list(models) == [MODEL, "BAAI/bge-m3", "sql-lora"]
    assert models[MODEL].model_type == ModelType.llm
    assert models[MODEL].metadata == {"context_length": 8192}
    assert models["BAAI/bge-m3"].model_type == ModelType.embedding
    assert models["sql-lora"].metadata == {}


# -- streaming ---------------------------------------------------------------------------


async def test_stream_relays_each_event_as_it_arrives() -> None:
    first, second, usage = chunk("Hel"), chunk("lo", "stop"), {**chunk(), "choices": [], "usage": {"x": 1}}
    consumer_has_first = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b": keep-alive comment\n\n" + sse(first)
        # The backend sends the rest only once the consumer got the first chunk: an adapter
        # that buffered the stream would never get here (the wait_for below would time out).
        await consumer_has_first.wait()
        yield sse(second, usage, "[DONE]")
        yield b"data: this is after DONE and must not be parsed\n\n"

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    request = chat_request(stream=True, stream_options={"include_usage": True})
    async with vllm(handler) as provider:
        stream = provider.chat_completion_stream(request)
        received = [await asyncio.wait_for(anext(stream), timeout=5)]
        consumer_has_first.set()
        received += [item async for item in stream]

    assert received == [first, second, usage]
    assert json.loads(seen[0].content)["stream"] is True
    assert json.loads(seen[0].content)["stream_options"] == {"include_usage": True}


async def test_completion_stream_relays_events() -> None:
    events = [{"id": "c", "object": "text_completion", "choices": [{"index": 0, "text": t}]} for t in "ab"]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/completions"
        return httpx.Response(200, content=sse(*events, "[DONE]"))

    async with vllm(handler) as provider:
        received = [
            item
            async for item in provider.completion_stream(
                CompletionRequest(model=MODEL, prompt="x", stream=True)
            )
        ]

    assert received == events


# -- error mapping -----------------------------------------------------------------------


def raising(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


def answering(status: int, **response: Any) -> Handler:
    return lambda request: httpx.Response(status, **response)


async def call_chat(handler: Handler) -> OGXError:
    async with vllm(handler) as provider:
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(chat_request())
    return caught.value


async def test_connection_refused_is_provider_unavailable() -> None:
    error = await call_chat(raising(httpx.ConnectError("[Errno 111] Connection refused")))
    assert isinstance(error, ProviderUnavailable)
    assert error.status_code == 503
    assert "vllm.test" in error.message and "Connection refused" in error.message


async def test_connect_timeout_is_provider_unavailable() -> None:
    error = await call_chat(raising(httpx.ConnectTimeout("timed out")))
    assert isinstance(error, ProviderUnavailable)
    assert error.status_code == 503


async def test_read_timeout_is_provider_timeout() -> None:
    error = await call_chat(raising(httpx.ReadTimeout("timed out")))
    assert isinstance(error, ProviderTimeout)
    assert error.status_code == 504


@pytest.mark.parametrize(
    "body",
    [
        # vLLM ≥ 0.10: the OpenAI envelope
        {"error": {"message": "max_tokens is too large: 99999", "type": "BadRequestError", "code": 400}},
        # older vLLM: a flat ErrorResponse
        {
            "object": "error",
            "message": "max_tokens is too large: 99999",
            "type": "BadRequestError",
            "code": 400,
        },
    ],
)
async def test_backend_400_keeps_status_and_message(body: dict[str, Any]) -> None:
    error = await call_chat(answering(400, json=body))
    assert isinstance(error, InvalidRequest)
    assert error.status_code == 400
    assert error.message == "max_tokens is too large: 99999"


async def test_backend_404_for_unknown_model_is_not_found() -> None:
    body = {"error": {"message": "The model `nope` does not exist.", "type": "NotFoundError", "code": 404}}
    error = await call_chat(answering(404, json=body))
    assert isinstance(error, NotFound)
    assert error.status_code == 404
    assert "`nope` does not exist" in error.message


async def test_backend_5xx_is_provider_error_with_its_message() -> None:
    error = await call_chat(answering(500, json={"error": {"message": "CUDA out of memory"}}))
    assert isinstance(error, ProviderError)
    assert error.status_code == 502
    assert "CUDA out of memory" in error.message


async def test_malformed_json_is_provider_error() -> None:
    error = await call_chat(answering(200, content=b'{"id": "chatcmpl-1", "choices": ['))
    assert isinstance(error, ProviderError)
    assert error.status_code == 502


async def test_refused_stream_raises_before_yielding() -> None:
    handler = answering(400, json={"error": {"message": "bad tool_choice"}})
    async with vllm(handler) as provider:
        stream = provider.chat_completion_stream(chat_request(stream=True))
        with pytest.raises(InvalidRequest, match="bad tool_choice"):
            await anext(stream)


async def test_malformed_stream_event_is_provider_error() -> None:
    handler = answering(200, content=sse(chunk("ok")) + b"data: {broken\n\n")
    async with vllm(handler) as provider:
        received = []
        with pytest.raises(ProviderError) as caught:
            async for item in provider.chat_completion_stream(chat_request(stream=True)):
                received.append(item)
    assert received == [chunk("ok")]
    assert caught.value.status_code == 502
