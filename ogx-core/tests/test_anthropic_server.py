"""`/v1/messages` and `/v1/messages/count_tokens` served in-process over the fake provider
(translation mode): shapes, streaming, headers, and Anthropic's error envelope."""

from __future__ import annotations

import orjson
import pytest

MESSAGE = {
    "model": "fake/fake-llm",
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "hello there"}],
}


def sse(text):
    """[(event name, data)] of an Anthropic event stream."""
    out = []
    for frame in text.split("\n\n"):
        if frame:
            name, data = frame.split("\n")
            out.append((name.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return out


def assert_anthropic_error(response, status, error_type):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "error", "request_id"}
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


async def test_message_is_translated_from_the_chat_completion(serve, fake_inference):
    async with serve(fake_inference()) as (client, app):
        response = await client.post(
            "/v1/messages",
            json=MESSAGE | {"system": "Be brief."},
            headers={"anthropic-version": "2023-06-01"},
        )
        sent = app.state.ogx.providers[0].impl.requests[-1]
    assert response.status_code == 200
    assert response.headers["anthropic-version"] == "2023-06-01"
    body = response.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["model"] == "fake/fake-llm", "the client's model id, not the provider's"
    assert body["content"] == [{"type": "text", "text": "echo: hello there", "citations": None}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["usage"]["input_tokens"] == 4 and body["usage"]["output_tokens"] == 3, "the fake counts words"
    assert sent.model == "fake-llm" and sent.max_tokens == 32
    assert [m.role for m in sent.messages] == ["system", "user"]


async def test_stream_sends_named_events_in_anthropics_order(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/messages", json=MESSAGE | {"stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["anthropic-version"] == "2023-06-01"
    events = sse(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "echo: hello there"
    assert events[0][1]["message"]["model"] == "fake/fake-llm"
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] == 3 and final["usage"]["input_tokens"] == 2


async def test_x_api_key_and_bearer_are_both_accepted(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        by_key = await client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": "sk-ant-anything"})
        by_bearer = await client.post(
            "/v1/messages", json=MESSAGE, headers={"authorization": "Bearer anything"}
        )
    assert by_key.status_code == by_bearer.status_code == 200


async def test_unknown_model_is_404_not_found_error(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/messages", json=MESSAGE | {"model": "claude-nope"})
    message = assert_anthropic_error(response, 404, "not_found_error")
    assert "claude-nope" in message and "fake/fake-llm" in message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (
            orjson.dumps({"model": "fake/fake-llm", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens",
        ),
        (orjson.dumps(MESSAGE | {"max_tokens": 0}), "max_tokens"),
        (orjson.dumps(MESSAGE | {"messages": [{"role": "system", "content": "x"}]}), "messages[0].role"),
        (orjson.dumps(MESSAGE | {"temperature": 1.5}), "temperature"),
        # Bodies of 1 KB and more are parsed by orjson first: the same answers.
        (b'{"model": "fake/fake-llm", "system": "' + b"x" * 2000 + b'", not json', "not valid JSON"),
        (b"[" + b"1, " * 1000 + b"2]", "JSON object"),
        (orjson.dumps(MESSAGE | {"system": "x" * 2000, "temperature": 1.5}), "temperature"),
        (
            orjson.dumps(MESSAGE | {"tools": [{"name": "t", "description": "x" * 2000}]}),
            "tools[0].input_schema",
        ),
    ],
)
async def test_malformed_bodies_are_400_invalid_request_error(serve, fake_inference, body, needle):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(
            "/v1/messages", content=body, headers={"content-type": "application/json"}
        )
    assert needle in assert_anthropic_error(response, 400, "invalid_request_error")


async def test_an_untranslatable_block_is_400(serve, fake_inference):
    body = MESSAGE | {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "server_tool_use", "id": "x", "name": "web_search", "input": {}}],
            }
        ]
    }
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/messages", json=body)
    assert "server_tool_use" in assert_anthropic_error(response, 400, "invalid_request_error")


async def test_using_an_embedding_model_is_400(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/messages", json=MESSAGE | {"model": "fake/fake-embed"})
    assert_anthropic_error(response, 400, "invalid_request_error")


async def test_routes_and_methods_under_messages_use_anthropics_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        unknown = await client.post("/v1/messages/no_such_route", json={})
        wrong_method = await client.get("/v1/messages")
        openai_path = await client.post("/v1/chat/completions", content=b"{bad")
    assert_anthropic_error(unknown, 404, "not_found_error")
    assert_anthropic_error(wrong_method, 405, "invalid_request_error")
    assert "error" in openai_path.json() and "type" in openai_path.json()["error"], (
        "other paths keep OpenAI's"
    )
    assert openai_path.json().get("type") != "error"


async def test_backend_failure_before_the_stream_is_an_http_error_in_the_envelope(serve, fake_inference):
    async with serve(fake_inference(fail_before_stream="ProviderUnavailable")) as (client, _):
        response = await client.post("/v1/messages", json=MESSAGE | {"stream": True})
    assert_anthropic_error(response, 503, "overloaded_error")


async def test_backend_failure_mid_stream_is_an_error_event(serve, fake_inference):
    async with serve(fake_inference(fail_mid_stream="ProviderError")) as (client, _):
        response = await client.post("/v1/messages", json=MESSAGE | {"stream": True})
    assert response.status_code == 200
    name, data = sse(response.text)[-1]
    assert name == "error"
    assert data["type"] == "error" and data["error"]["type"] == "api_error"


async def test_count_tokens_estimates_when_the_provider_cannot_count(serve, fake_inference):
    small = {"model": "fake/fake-llm", "messages": [{"role": "user", "content": "hi"}]}
    big = {
        **small,
        "system": "You are a helpful assistant. " * 20,
        "tools": [
            {
                "name": "get_weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    }
    async with serve(fake_inference()) as (client, _):
        few = await client.post("/v1/messages/count_tokens", json=small)
        many = await client.post("/v1/messages/count_tokens", json=big)
        unknown = await client.post("/v1/messages/count_tokens", json=small | {"model": "nope"})
    assert few.status_code == 200 and few.json()["estimated"] is True
    assert 0 < few.json()["input_tokens"] < many.json()["input_tokens"]
    assert 150 < many.json()["input_tokens"] < 250, "about four characters a token"
    assert_anthropic_error(unknown, 404, "not_found_error")


async def test_openapi_documents_the_bodies_and_the_error_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/v1/messages"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CreateMessageRequest"
    )
    assert "4XX" in operation["responses"]
    assert {p["name"] for p in operation["parameters"]} >= {"anthropic-version", "x-api-key"}
    components = schema["components"]["schemas"]
    assert {
        "CreateMessageRequest",
        "CountTokensRequest",
        "AnthropicMessage",
        "AnthropicErrorResponse",
    } <= set(components)
    assert "/v1/messages/count_tokens" in schema["paths"]
