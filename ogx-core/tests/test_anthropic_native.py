"""The optional provider hooks: native Messages passthrough and the provider's own token count,
with test providers built on the fake one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ogx.anthropic.hooks import AnthropicMessagesProvider, TokenCounter
from ogx.config import parse_run_config
from ogx.plugins import PluginInfo, PluginManager
from ogx.server.app import create_app
from ogx_api import Api, InvalidRequest, ProviderSpec, hookimpl
from ogx_api.inference import ChatCompletionRequest
from ogx_api.testing.fakes import FakeInferenceProvider

NATIVE_MODEL = "native-llm"


def _event(data: dict[str, Any]) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class NativeProvider(FakeInferenceProvider):
    """Speaks the Messages API for `native-llm` (as a vLLM or Ollama provider would), and
    counts tokens for every model."""

    def __init__(self, config: Any, deps: Any = None) -> None:
        super().__init__(config, deps)
        self.native_bodies: list[dict[str, Any]] = []
        self.native_streams_closed = 0

    def supports_anthropic_messages(self, provider_model_id: str) -> bool:
        return provider_model_id == NATIVE_MODEL

    async def anthropic_messages(self, body: dict[str, Any]) -> dict[str, Any]:
        self.native_bodies.append(body)
        return {
            "id": "msg_native",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "native answer"}],
            "model": body["model"],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 2},
        }

    async def anthropic_messages_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        self.native_bodies.append(body)
        if body.get("metadata", {}).get("user_id") == "refuse":
            raise InvalidRequest("the backend refused this request")
        message = {
            "id": "msg_native",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": body["model"],
        }
        try:
            # Two events in one item: a provider relays whole events, however the backend framed them.
            yield _event({"type": "message_start", "message": message}) + _event(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
            )
            yield _event(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "native"}}
            )
            yield _event({"type": "content_block_stop", "index": 0})
            yield _event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                }
            )
            yield _event({"type": "message_stop"})
        finally:
            self.native_streams_closed += 1

    async def anthropic_count_tokens(self, body: dict[str, Any]) -> int:
        self.native_bodies.append(body)
        return 1234

    async def count_tokens(self, request: ChatCompletionRequest) -> int:
        self.counted = request
        return 100 * len(request.messages)


SPEC = ProviderSpec(
    api=Api.inference,
    provider_type="inline::native-test",
    config_class="ogx_api.testing.fakes:FakeInferenceConfig",
    factory=f"{__name__}:NativeProvider",
)


class NativePlugin:
    @hookimpl
    def ogx_provider_specs(self) -> list[ProviderSpec]:
        return [SPEC]


@pytest.fixture
def serve_native(tmp_path: Path):
    @asynccontextmanager
    async def start():
        tree = {
            "version": 2,
            "name": "test",
            "storage": {"url": f"sqlite:///{tmp_path}/ogx.db"},
            "providers": {
                "inference": [
                    {
                        "provider_id": "native",
                        "provider_type": "inline::native-test",
                        "config": {"llm_models": [NATIVE_MODEL, "plain-llm"]},
                    }
                ]
            },
            "registered_resources": {
                "models": [
                    {"model_id": "claude-local", "provider_id": "native", "provider_model_id": NATIVE_MODEL}
                ]
            },
        }
        plugins = PluginManager(
            load_entry_points=False,
            plugins=[(PluginInfo(name="native", distribution="tests", version="0"), NativePlugin())],
            environ={},
        )
        app = create_app(parse_run_config(tree, environ={}), plugins=plugins)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ogx.test") as client:
                yield client, app.state.ogx.providers[0].impl

    return start


BODY = {
    "model": "claude-local",
    "max_tokens": 16,
    "messages": [
        {"role": "user", "content": [{"type": "web_search_tool_result", "tool_use_id": "x", "content": []}]}
    ],
    "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    "context_management": {"edits": []},
}


def test_the_test_provider_satisfies_the_published_protocols():
    provider = NativeProvider.__new__(NativeProvider)
    assert isinstance(provider, AnthropicMessagesProvider)
    assert isinstance(provider, TokenCounter)


async def test_native_provider_gets_the_request_untranslated(serve_native):
    async with serve_native() as (client, provider):
        response = await client.post("/v1/messages", json=BODY)
    assert response.status_code == 200, response.text
    assert response.json()["content"] == [{"type": "text", "text": "native answer"}]
    assert response.json()["model"] == "claude-local", "the client's model id"
    sent = provider.native_bodies[-1]
    assert sent == {**BODY, "model": NATIVE_MODEL}, (
        "server tools, unknown blocks and fields go through as sent"
    )
    assert provider.requests == [], "no chat completion was made"


async def test_native_stream_is_relayed_with_the_clients_model_id(serve_native):
    async with serve_native() as (client, provider):
        response = await client.post("/v1/messages", json=BODY | {"stream": True})
    assert response.status_code == 200
    assert response.headers["anthropic-version"] == "2023-06-01"
    frames = [f for f in response.text.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = orjson.loads(frames[0].split("\n")[1].removeprefix("data: "))
    assert start["message"]["model"] == "claude-local"
    assert provider.native_streams_closed == 1


async def test_native_stream_refused_before_its_first_event_is_an_http_error(serve_native):
    async with serve_native() as (client, _):
        response = await client.post(
            "/v1/messages", json=BODY | {"stream": True, "metadata": {"user_id": "refuse"}}
        )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "the backend refused this request",
    }


async def test_other_models_of_the_same_provider_are_translated(serve_native):
    body = {"model": "native/plain-llm", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    async with serve_native() as (client, provider):
        response = await client.post("/v1/messages", json=body)
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "echo: hi"
    assert provider.native_bodies == [] and len(provider.requests) == 1


async def test_count_tokens_uses_the_backends_native_count(serve_native):
    async with serve_native() as (client, provider):
        response = await client.post(
            "/v1/messages/count_tokens",
            json={"model": "claude-local", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.json() == {"input_tokens": 1234}
    assert provider.native_bodies[-1]["model"] == NATIVE_MODEL


async def test_count_tokens_uses_the_providers_tokenizer_for_translated_models(serve_native):
    body = {"model": "native/plain-llm", "system": "s", "messages": [{"role": "user", "content": "hi"}]}
    async with serve_native() as (client, provider):
        response = await client.post("/v1/messages/count_tokens", json=body)
    assert response.json() == {"input_tokens": 200}, "exact: no `estimated` flag"
    assert provider.counted.model == "plain-llm", "the provider gets its own model id"
