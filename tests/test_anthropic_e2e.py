"""The official `anthropic` SDK against `ogx run`.

Most tests put OGX in front of the scripted backend (`ogx_api.testing.scripted`) through
`remote::vllm`, so answers, tool calls and token counts are deterministic and can be asserted
exactly; the last ones use the real local model (the `vllm_ogx` fixture), where only shapes and
behaviour are asserted (it is a small base model)."""

from __future__ import annotations

import base64
import struct

import anthropic
import httpx
import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall, message_text

MODEL = "claude-scripted"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13)
    + b"IHDR"
    + struct.pack(">II", 8, 8)
    + b"\x08\x02\x00\x00\x00"
)


def _has_image(request):
    return any(
        isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
        for m in request["messages"]
    )


EDITOR_CALL = {"command": "view", "path": "/repo/README.md"}

RULES = [
    Rule(
        tool="str_replace_based_edit_tool",
        last_role="user",
        reply=Reply(tool_calls=[ToolCall("str_replace_based_edit_tool", EDITOR_CALL)]),
    ),
    Rule(
        tool="get_weather",
        last_role="user",
        reply=Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
    ),
    Rule(
        last_role="tool",
        reply=Reply(text=lambda r: f"The weather in Paris is {r['messages'][-1]['content']}."),
    ),
    Rule(when=_has_image, reply=Reply(text="I see an image.")),
    Rule(contains="count", reply=Reply(text="one two three STOP four five six")),
    Rule(contains="think", reply=Reply(reasoning="Let me consider this.", text="Done thinking.")),
    Rule(contains="busy", reply=Reply(status=503, error="backend overloaded")),
    Rule(contains="roles", reply=Reply(text=lambda r: " ".join(m["role"] for m in r["messages"]))),
    Rule(contains="document", reply=Reply(text=lambda r: f"read: {message_text(r['messages'][-1])}")),
]


@pytest.fixture(scope="module")
def backend():
    with ScriptedBackend(RULES, models=["scripted"]) as backend:
        yield backend


@pytest.fixture(scope="module")
def server(backend, ogx_runner, tmp_path_factory):
    config = {
        "version": 2,
        "name": "e2e-anthropic",
        "providers": {
            "inference": [
                {
                    "provider_id": "scripted",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": backend.base_url},
                }
            ]
        },
        "registered_resources": {
            "models": [{"model_id": MODEL, "provider_id": "scripted", "provider_model_id": "scripted"}]
        },
    }
    with ogx_runner(config, tmp_path_factory.mktemp("ogx-anthropic")) as server:
        yield server
        assert "Traceback" not in server.log(), "the only 5xx is the scripted backend's 503"


@pytest.fixture(scope="module")
def client(server):
    with anthropic.Anthropic(
        base_url=server.base_url, api_key="sk-ant-unused", max_retries=0, timeout=60
    ) as client:
        yield client


def test_basic_message(client, backend):
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
    )
    message = raw.parse()
    assert raw.headers["anthropic-version"] == raw.http_request.headers["anthropic-version"], "echoed"
    assert message.type == "message" and message.role == "assistant" and message.model == MODEL
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "echo: Hello"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (1, 2), (
        "the backend's counts, exactly"
    )
    assert backend.requests[-1]["max_tokens"] == 64


def test_system_prompt_as_string_and_blocks(client, backend):
    client.messages.create(
        model=MODEL, max_tokens=16, system="Be brief.", messages=[{"role": "user", "content": "Hi"}]
    )
    assert backend.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."}
    client.messages.create(
        model=MODEL,
        max_tokens=16,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Hi"}],
    )
    assert backend.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_multi_turn_conversation(client):
    message = client.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "list the roles"},
        ],
    )
    assert message.content[0].text == "user assistant user"


def test_streaming_event_sequence_and_final_message(client):
    with client.messages.create(
        model=MODEL, max_tokens=64, stream=True, messages=[{"role": "user", "content": "stream this please"}]
    ) as stream:
        events = list(stream)
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[1] == "content_block_start"
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(types[2:-3]) == {"content_block_delta"}
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "echo: stream this please"
    assert events[-2].delta.stop_reason == "end_turn"

    with client.messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "stream this please"}]
    ) as stream:
        assert "".join(stream.text_stream) == "echo: stream this please"
        final = stream.get_final_message()
    assert final.usage.input_tokens == 3 and final.usage.output_tokens == 4, "exact usage from message_delta"
    assert final.stop_reason == "end_turn"


def test_tool_use_round_trip(client, backend):
    question = {"role": "user", "content": "What's the weather in Paris?"}
    first = client.messages.create(model=MODEL, max_tokens=64, tools=[WEATHER_TOOL], messages=[question])
    assert first.stop_reason == "tool_use"
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    assert backend.requests[-1]["tools"][0]["function"]["name"] == "get_weather"

    second = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "The weather in Paris is sunny."
    sent = backend.requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.id
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


def test_tool_use_streamed_and_tool_choice(client, backend):
    with client.messages.stream(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "weather?"}],
    ) as stream:
        final = stream.get_final_message()
    (call,) = final.content
    assert call.type == "tool_use" and call.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert backend.requests[-1]["tool_choice"] == "required"
    assert backend.requests[-1]["parallel_tool_calls"] is False


def test_tool_result_error(client, backend):
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "X"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "no such city",
                        "is_error": True,
                    }
                ],
            },
        ],
    )
    assert backend.requests[-1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "toolu_1",
        "content": "Error: no such city",
    }


def test_anthropic_defined_client_tools_and_server_tools(client, backend):
    editor = {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool", "max_characters": 4000}
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[editor],
        messages=[{"role": "user", "content": "Show me the README."}],
    )
    (call,) = message.content
    assert (
        call.type == "tool_use" and call.name == "str_replace_based_edit_tool" and call.input == EDITOR_CALL
    )
    offered = backend.requests[-1]["tools"][0]["function"]
    assert "view" in offered["parameters"]["properties"]["command"]["enum"]

    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=64,
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
            messages=[{"role": "user", "content": "News?"}],
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "web_search_20250305" in caught.value.body["error"]["message"]


def test_images_base64_and_url(client, backend):
    data = base64.b64encode(PNG).decode()
    message = client.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                    {"type": "text", "text": "What is this?"},
                ],
            }
        ],
    )
    assert message.content[0].text == "I see an image."
    parts = backend.requests[-1]["messages"][0]["content"]
    assert parts[0]["image_url"]["url"] == f"data:image/png;base64,{data}"
    assert parts[1]["image_url"]["url"] == "https://example.com/cat.png"


def test_plain_text_document(client):
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "The sky is green."},
                    },
                    {"type": "text", "text": "Summarise the document"},
                ],
            }
        ],
    )
    assert message.content[0].text == "read: The sky is green.\nSummarise the document"


def test_stop_sequence_and_max_tokens(client):
    stopped = client.messages.create(
        model=MODEL, max_tokens=64, stop_sequences=["STOP"], messages=[{"role": "user", "content": "count"}]
    )
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "STOP")
    assert stopped.content[0].text == "one two three "
    cut = client.messages.create(model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "count"}])
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 2
    with client.messages.stream(
        model=MODEL, max_tokens=64, stop_sequences=["STOP"], messages=[{"role": "user", "content": "count"}]
    ) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "STOP")


def test_thinking_maps_to_reasoning_and_back(client, backend):
    request = {
        "model": MODEL,
        "max_tokens": 2048,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "think about it"}],
    }
    message = client.messages.create(**request)
    assert backend.requests[-1]["reasoning_effort"] == "low"
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Let me consider this."
    with client.messages.create(**request, stream=True) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]
    assert "thinking_delta" in deltas and "text_delta" in deltas


def test_count_tokens(client):
    small = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    large = client.messages.count_tokens(
        model=MODEL,
        system="You are terse. " * 50,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Hello"}],
    )
    assert 0 < small.input_tokens < large.input_tokens


def test_unknown_model_is_not_found_error(client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(
            model="claude-nope", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
    assert caught.value.status_code == 404
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert MODEL in caught.value.body["error"]["message"]


def test_malformed_body_is_invalid_request_error(client, server):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=0, messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in caught.value.body["error"]["message"]
    response = httpx.post(
        f"{server.base_url}/v1/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_backend_failure_is_an_anthropic_error(client):
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "busy"}])
    assert caught.value.status_code == 503
    assert caught.value.body["error"]["type"] == "overloaded_error"


# -- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(vllm_ogx):
    with anthropic.Anthropic(
        base_url=vllm_ogx.base_url, api_key="unused", max_retries=0, timeout=120
    ) as client:
        yield client


@pytest.mark.integration
def test_real_model_message(real):
    message = real.messages.create(
        model="gemma",
        max_tokens=8,
        extra_body={"temperature": 0},  # this SDK no longer has the (deprecated) parameter
        system="Be brief.",
        messages=[{"role": "user", "content": "Name a colour."}],
    )
    assert message.model == "gemma" and message.role == "assistant"
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.input_tokens > 0 and 0 < message.usage.output_tokens <= 8


@pytest.mark.integration
def test_real_model_stream(real):
    with real.messages.stream(
        model="gemma",
        max_tokens=8,
        extra_body={"temperature": 0},
        messages=[{"role": "user", "content": "Count to ten."}],
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "message_delta" in events
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.output_tokens > 0
    text = "".join(b.text for b in final.content if b.type == "text")
    assert text, "the model wrote something"


@pytest.mark.integration
def test_real_model_accepts_a_tool_round_trip_history(real):
    """The translated history (tool calls beside empty text, tool results) is one the backend takes."""
    message = real.messages.create(
        model="gemma",
        max_tokens=8,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "What's the weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
            },
        ],
    )
    assert message.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert message.usage.input_tokens > 0
