"""The shared OpenAI-compatible adapter: config validation, client ownership, and the parts of
error mapping and SSE parsing that every such provider inherits. (Request mapping and the main
error cases are exercised through a real provider in plugins/ogx-vllm/tests.)"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from ogx_api import (
    HealthState,
    InvalidRequest,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from ogx_api.inference import ChatCompletionRequest, ModelType, ProviderModel
from ogx_api.openai_compat import OpenAICompatConfig, OpenAICompatInferenceAdapter, tls_context

BASE_URL = "http://backend.test/v1"
SECRET = "sk-do-not-leak-123"

Handler = Callable[[httpx.Request], httpx.Response]


def config(**fields: Any) -> OpenAICompatConfig:
    return OpenAICompatConfig.model_validate({"base_url": BASE_URL, **fields})


@asynccontextmanager
async def adapter(handler: Handler, **fields: Any) -> AsyncIterator[OpenAICompatInferenceAdapter]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        provider = OpenAICompatInferenceAdapter(config(**fields), client=client)
        await provider.start()
        yield provider
        await provider.close()


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    )


async def chat_error(handler: Handler, **fields: Any) -> OGXError:
    async with adapter(handler, **fields) as provider:
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(chat())
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- config ------------------------------------------------------------------------------


def test_config_defaults_are_bounded() -> None:
    cfg = config()
    assert (cfg.connect_timeout, cfg.read_timeout, cfg.max_connections) == (5.0, 300.0, 100)
    assert cfg.tls_verify is True and cfg.api_key is None


def test_config_strips_trailing_slash() -> None:
    assert config(base_url="http://h:8000/v1/").base_url == "http://h:8000/v1"


@pytest.mark.parametrize("url", ["localhost:8000/v1", "ftp://h/v1", "http:///v1", "not a url"])
def test_config_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        config(base_url=url)


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan")])
def test_config_rejects_unbounded_or_empty_timeouts(value: float) -> None:
    with pytest.raises(ValidationError, match="read_timeout"):
        config(read_timeout=value)


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="base_ur"):
        OpenAICompatConfig.model_validate({"base_url": BASE_URL, "base_ur": "typo"})


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("TRUE", True), (False, False)])
def test_tls_verify_accepts_booleans_as_strings(value: object, expected: bool) -> None:
    assert config(tls_verify=value).tls_verify is expected


def test_tls_verify_accepts_an_existing_ca_path_only(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert config(tls_verify=str(bundle)).tls_verify == str(bundle)
    with pytest.raises(ValidationError, match="tls_verify"):
        config(tls_verify=str(tmp_path / "missing.pem"))


def test_tls_contexts_are_shared_and_verify_unless_told_not_to() -> None:
    verified = tls_context(True)
    assert tls_context(True) is verified  # one CA bundle load per process, not per provider
    assert verified.verify_mode is ssl.CERT_REQUIRED and verified.check_hostname
    assert verified.cert_store_stats()["x509_ca"] > 0
    assert tls_context(False).verify_mode is ssl.CERT_NONE


def test_a_plain_http_backend_gets_a_context_that_trusts_nothing() -> None:
    plain = tls_context(None)
    assert plain.verify_mode is ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0


# -- client ownership --------------------------------------------------------------------


async def test_injected_client_is_left_open_for_its_owner() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        provider = OpenAICompatInferenceAdapter(config(), client=client)
        await provider.start()
        await provider.close()
        assert not client.is_closed


async def test_own_client_is_created_at_start_and_closed_at_close() -> None:
    provider = OpenAICompatInferenceAdapter(config(base_url=f"http://127.0.0.1:{closed_port()}/v1"))
    with pytest.raises(RuntimeError, match="start"):
        await provider.list_models()
    await provider.start()
    client = provider._client
    assert client is not None and not client.is_closed
    await provider.close()
    assert client.is_closed


async def test_own_client_maps_a_refused_connection_and_health_reports_it() -> None:
    provider = OpenAICompatInferenceAdapter(config(base_url=f"http://127.0.0.1:{closed_port()}/v1"))
    await provider.start()
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.chat_completion(chat())
        health = await provider.health()
    finally:
        await provider.close()
    assert caught.value.status_code == 503
    assert health.status == HealthState.error and health.message


async def test_own_client_applies_read_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = OpenAICompatInferenceAdapter(config(base_url=f"http://127.0.0.1:{port}/v1", read_timeout=0.2))
    await provider.start()
    try:
        with pytest.raises(ProviderTimeout) as caught:
            await asyncio.wait_for(provider.chat_completion(chat()), timeout=3)
    finally:
        await provider.close()
        server.close()
    assert caught.value.status_code == 504


async def test_health_is_ok_when_models_answers() -> None:
    async with adapter(lambda r: httpx.Response(200, json={"object": "list", "data": []})) as provider:
        assert (await provider.health()).status == HealthState.ok


# -- backend error bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(422, json={"detail": "prompt is empty"}), "prompt is empty"),
        (httpx.Response(400, json={"message": "bad temperature"}), "bad temperature"),
        (httpx.Response(400, json={"error": "plain string error"}), "plain string error"),
        (httpx.Response(400, text="  upstream says no \n"), "upstream says no"),
        (httpx.Response(400), "Bad Request"),
    ],
)
async def test_backend_error_message_is_extracted(response: httpx.Response, message: str) -> None:
    error = await chat_error(lambda r: response)
    assert isinstance(error, InvalidRequest)
    assert error.message == message
    assert error.status_code == response.status_code


async def test_validation_detail_list_is_kept_as_json() -> None:
    detail = [{"loc": ["body", "messages"], "msg": "field required"}]
    error = await chat_error(lambda r: httpx.Response(422, json={"detail": detail}))
    assert json.loads(error.message) == detail


async def test_api_key_never_appears_in_error_messages() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    error = await chat_error(lambda r: httpx.Response(401, json=body), api_key=SECRET)
    assert isinstance(error, Unauthorized)
    assert SECRET not in error.message and "***" in error.message


async def test_credentials_in_base_url_never_appear_in_error_messages() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    error = await chat_error(refuse, base_url=f"http://user:{SECRET}@backend.test/v1?key={SECRET}")
    assert isinstance(error, ProviderUnavailable)
    assert SECRET not in error.message and "backend.test" in error.message


async def test_rate_limit_keeps_retry_after() -> None:
    response = httpx.Response(429, headers={"retry-after": "7"}, json={"error": {"message": "slow down"}})
    error = await chat_error(lambda r: response)
    assert isinstance(error, RateLimited)
    assert (error.status_code, error.retry_after, error.message) == (429, 7.0, "slow down")


async def test_json_that_is_not_an_object_is_provider_error() -> None:
    error = await chat_error(lambda r: httpx.Response(200, json=["not", "an", "object"]))
    assert isinstance(error, ProviderError) and error.status_code == 502


# -- SSE parsing -------------------------------------------------------------------------


async def stream_chat(body: bytes) -> tuple[list[Any], OGXError | None]:
    received: list[Any] = []
    async with adapter(lambda r: httpx.Response(200, content=body)) as provider:
        try:
            async for item in provider.chat_completion_stream(chat(stream=True)):
                received.append(item)
        except OGXError as exc:
            return received, exc
    return received, None


async def test_sse_ignores_event_lines_comments_and_missing_space() -> None:
    body = b'event: message\ndata:{"n": 1}\n\n: ping\n\ndata:  {"n": 2}\r\n\r\ndata: [DONE]\n\n'
    assert await stream_chat(body) == ([{"n": 1}, {"n": 2}], None)


async def test_sse_cut_off_before_done_is_provider_error() -> None:
    received, error = await stream_chat(b'data: {"n": 1}\n\n')
    assert received == [{"n": 1}]
    assert isinstance(error, ProviderError) and "[DONE]" in error.message


async def test_empty_sse_body_is_provider_error() -> None:
    # llama_cpp.server answers 200 and then an empty body when the request fails in its handler.
    received, error = await stream_chat(b"")
    assert received == [] and isinstance(error, ProviderError)


async def test_sse_error_event_mid_stream_is_provider_error() -> None:
    body = b'data: {"n": 1}\n\ndata: {"error": {"message": "engine died", "code": 500}}\n\n'
    received, error = await stream_chat(body)
    assert received == [{"n": 1}]
    assert isinstance(error, ProviderError) and "engine died" in error.message


async def test_sse_event_that_is_not_an_object_is_provider_error() -> None:
    received, error = await stream_chat(b"data: [1, 2]\n\n")
    assert received == [] and isinstance(error, ProviderError)


async def test_connection_dropped_mid_stream_is_provider_error() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'data: {"n": 1}\n\n'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async with adapter(lambda r: httpx.Response(200, content=body())) as provider:
        received = []
        with pytest.raises(ProviderError) as caught:
            async for item in provider.chat_completion_stream(chat(stream=True)):
                received.append(item)
    assert received == [{"n": 1}] and caught.value.status_code == 502


# -- model listing -----------------------------------------------------------------------


async def test_list_models_skips_entries_without_id_and_guesses_embeddings() -> None:
    data = [
        {"id": "llama-3"},
        {"object": "model"},
        {"id": "nomic-embed-text"},
        "junk",
        {"id": "BAAI/bge-small"},
    ]
    async with adapter(lambda r: httpx.Response(200, json={"data": data})) as provider:
        models = await provider.list_models()
    assert [(m.provider_model_id, m.model_type) for m in models] == [
        ("llama-3", ModelType.llm),
        ("nomic-embed-text", ModelType.embedding),
        ("BAAI/bge-small", ModelType.embedding),
    ]


async def test_subclass_customizes_model_description_by_data_and_override() -> None:
    class Custom(OpenAICompatInferenceAdapter):
        embedding_model_markers = ("bge",)

        def describe_model(self, entry: dict[str, Any]) -> ProviderModel | None:
            if entry["id"].startswith("internal-"):
                return None
            return super().describe_model(entry)

    data = [{"id": "BAAI/bge-small"}, {"id": "internal-draft"}, {"id": "nomic-embed-text"}]
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"data": data}))
    ) as c:
        models = await Custom(config(), client=c).list_models()
    assert [(m.provider_model_id, m.model_type) for m in models] == [
        ("BAAI/bge-small", ModelType.embedding),
        ("nomic-embed-text", ModelType.llm),
    ]


async def test_models_answer_without_data_is_provider_error() -> None:
    async with adapter(lambda r: httpx.Response(200, json={"models": []})) as provider:
        with pytest.raises(ProviderError, match="data"):
            await provider.list_models()


def test_custom_tool_calls_in_an_assistant_turn_are_accepted_and_relayed() -> None:
    call = {"id": "call_1", "type": "custom", "custom": {"name": "grep", "input": "TODO src/"}}
    request = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "find the TODOs"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "src/a.py: TODO"},
            ],
        }
    )
    assert request.backend_payload()["messages"][1]["tool_calls"] == [call]
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(
            {
                "model": "m",
                "messages": [{"role": "assistant", "tool_calls": [{**call, "custom": {"name": "x"}}]}],
            }
        )


@pytest.mark.parametrize(
    ("send_max_tokens", "fields", "expected"),
    [
        (False, {"max_completion_tokens": 24}, {"max_completion_tokens": 24}),
        (True, {"max_completion_tokens": 24}, {"max_completion_tokens": 24, "max_tokens": 24}),
        (
            True,
            {"max_completion_tokens": 24, "max_tokens": 9},
            {"max_completion_tokens": 24, "max_tokens": 9},
        ),
        (True, {}, {}),
    ],
)
async def test_max_completion_tokens_is_also_sent_as_max_tokens_when_configured(
    send_max_tokens: bool, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "choices": []})

    async with adapter(handler, send_max_tokens=send_max_tokens) as provider:
        await provider.chat_completion(chat(**fields))
    limits = {k: v for k, v in sent[0].items() if k in ("max_tokens", "max_completion_tokens")}
    assert limits == expected
