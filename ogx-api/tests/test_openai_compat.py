"""The shared OpenAI-compatible adapter: config validation, and the parts of error mapping and SSE
parsing that every such provider inherits, each through an injected `httpx.MockTransport` and over
real HTTP with the adapter's own client (the `compat_adapter` fixture). Request mapping and the
main error cases are exercised through a real provider in plugins/ogx-vllm/tests; the own
client's pooling, timeouts and connection handling in test_openai_compat_own_client.py."""

from __future__ import annotations

import json
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
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from ogx_api.backend_http import ssl_context
from ogx_api.inference import ChatCompletionRequest, ModelType, ProviderModel
from ogx_api.openai_compat import OpenAICompatConfig, OpenAICompatInferenceAdapter

BASE_URL = "http://backend.test/v1"
SECRET = "sk-do-not-leak-123"

Handler = Callable[[httpx.Request], httpx.Response]


def config(**fields: Any) -> OpenAICompatConfig:
    return OpenAICompatConfig.model_validate({"base_url": BASE_URL, **fields})


@asynccontextmanager
async def injected(handler: Handler, **fields: Any) -> AsyncIterator[OpenAICompatInferenceAdapter]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        provider = OpenAICompatInferenceAdapter(config(**fields), client=client)
        await provider.start()
        yield provider
        await provider.close()


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    )


async def chat_error(adapter: Any, handler: Handler, **fields: Any) -> OGXError:
    async with adapter(handler, **fields) as provider:
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(chat())
    return caught.value


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
    verified = ssl_context(True)
    assert ssl_context(True) is verified  # one CA bundle load per process, not per provider
    assert verified.verify_mode is ssl.CERT_REQUIRED and verified.check_hostname
    assert verified.cert_store_stats()["x509_ca"] > 0
    assert ssl_context(False).verify_mode is ssl.CERT_NONE


def test_a_plain_http_backend_gets_a_context_that_trusts_nothing() -> None:
    plain = ssl_context(None)
    assert plain.verify_mode is ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0


# -- client ownership --------------------------------------------------------------------


async def test_injected_client_is_left_open_for_its_owner() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        provider = OpenAICompatInferenceAdapter(config(), client=client)
        await provider.start()
        await provider.close()
        assert not client.is_closed


async def test_health_is_ok_when_models_answers(compat_adapter: Any) -> None:
    async with compat_adapter(lambda r: httpx.Response(200, json={"object": "list", "data": []})) as provider:
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
async def test_backend_error_message_is_extracted(
    compat_adapter: Any, response: httpx.Response, message: str
) -> None:
    error = await chat_error(compat_adapter, lambda r: response)
    assert isinstance(error, InvalidRequest)
    assert error.message == message
    assert error.status_code == response.status_code


async def test_validation_detail_list_is_kept_as_json(compat_adapter: Any) -> None:
    detail = [{"loc": ["body", "messages"], "msg": "field required"}]
    error = await chat_error(compat_adapter, lambda r: httpx.Response(422, json={"detail": detail}))
    assert json.loads(error.message) == detail


async def test_api_key_never_appears_in_error_messages(compat_adapter: Any) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    error = await chat_error(compat_adapter, lambda r: httpx.Response(401, json=body), api_key=SECRET)
    assert isinstance(error, Unauthorized)
    assert SECRET not in error.message and "***" in error.message


async def test_credentials_in_base_url_never_appear_in_error_messages() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    error = await chat_error(injected, refuse, base_url=f"http://user:{SECRET}@backend.test/v1?key={SECRET}")
    assert isinstance(error, ProviderUnavailable)
    assert SECRET not in error.message and "backend.test" in error.message


async def test_rate_limit_keeps_retry_after(compat_adapter: Any) -> None:
    response = httpx.Response(429, headers={"retry-after": "7"}, json={"error": {"message": "slow down"}})
    error = await chat_error(compat_adapter, lambda r: response)
    assert isinstance(error, RateLimited)
    assert (error.status_code, error.retry_after, error.message) == (429, 7.0, "slow down")


async def test_json_that_is_not_an_object_is_provider_error(compat_adapter: Any) -> None:
    error = await chat_error(compat_adapter, lambda r: httpx.Response(200, json=["not", "an", "object"]))
    assert isinstance(error, ProviderError) and error.status_code == 502


# -- SSE parsing -------------------------------------------------------------------------


async def stream_chat(adapter: Any, body: bytes) -> tuple[list[Any], OGXError | None]:
    received: list[Any] = []
    async with adapter(lambda r: httpx.Response(200, content=body)) as provider:
        try:
            async for item in provider.chat_completion_stream(chat(stream=True)):
                received.append(item)
        except OGXError as exc:
            return received, exc
    return received, None


async def test_sse_ignores_event_lines_comments_and_missing_space(compat_adapter: Any) -> None:
    body = b'event: message\ndata:{"n": 1}\n\n: ping\n\ndata:  {"n": 2}\r\n\r\ndata: [DONE]\n\n'
    assert await stream_chat(compat_adapter, body) == ([{"n": 1}, {"n": 2}], None)


async def test_sse_cut_off_before_done_is_provider_error(compat_adapter: Any) -> None:
    received, error = await stream_chat(compat_adapter, b'data: {"n": 1}\n\n')
    assert received == [{"n": 1}]
    assert isinstance(error, ProviderError) and "[DONE]" in error.message


async def test_empty_sse_body_is_provider_error(compat_adapter: Any) -> None:
    # llama_cpp.server answers 200 and then an empty body when the request fails in its handler.
    received, error = await stream_chat(compat_adapter, b"")
    assert received == [] and isinstance(error, ProviderError)


async def test_sse_error_event_mid_stream_is_provider_error(compat_adapter: Any) -> None:
    body = b'data: {"n": 1}\n\ndata: {"error": {"message": "engine died", "code": 500}}\n\n'
    received, error = await stream_chat(compat_adapter, body)
    assert received == [{"n": 1}]
    assert isinstance(error, ProviderError) and "engine died" in error.message


async def test_sse_event_that_is_not_an_object_is_provider_error(compat_adapter: Any) -> None:
    received, error = await stream_chat(compat_adapter, b"data: [1, 2]\n\n")
    assert received == [] and isinstance(error, ProviderError)


async def test_connection_dropped_mid_stream_is_provider_error(compat_adapter: Any) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'data: {"n": 1}\n\n'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async with compat_adapter(lambda r: httpx.Response(200, content=body())) as provider:
        received = []
        with pytest.raises(ProviderError) as caught:
            async for item in provider.chat_completion_stream(chat(stream=True)):
                received.append(item)
    assert received == [{"n": 1}] and caught.value.status_code == 502


# -- model listing -----------------------------------------------------------------------


async def test_list_models_skips_entries_without_id_and_guesses_embeddings(compat_adapter: Any) -> None:
    data = [
        {"id": "llama-3"},
        {"object": "model"},
        {"id": "nomic-embed-text"},
        "junk",
        {"id": "BAAI/bge-small"},
    ]
    async with compat_adapter(lambda r: httpx.Response(200, json={"data": data})) as provider:
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


async def test_models_answer_without_data_is_provider_error(compat_adapter: Any) -> None:
    async with compat_adapter(lambda r: httpx.Response(200, json={"models": []})) as provider:
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
    compat_adapter: Any, send_max_tokens: bool, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "choices": []})

    async with compat_adapter(handler, send_max_tokens=send_max_tokens) as provider:
        await provider.chat_completion(chat(**fields))
    limits = {k: v for k, v in sent[0].items() if k in ("max_tokens", "max_completion_tokens")}
    assert limits == expected
