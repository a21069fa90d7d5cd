"""`/v1beta/interactions` (and its aliases `/v1alpha/interactions`, `/v1/interactions`) served
in-process over the fake provider: create (JSON and SSE), conversation state, GET/DELETE/cancel,
errors in Google's envelope; and `Api-Revision: 2026-05-20` (google-genai 2.x and 3.x): the same
interactions shown as `steps`, with `step.*` events and steps accepted as `input` (also over the
scripted backend)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from ogx.google.schema import Interaction
from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

pytestmark = pytest.mark.asyncio

MODEL = "fake/fake-llm"
URL = "/v1beta/interactions"
ALIAS = "/v1alpha/interactions"
INTERACTION = TypeAdapter(Interaction)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _events(text: str) -> list[dict]:
    """SSE frames as (event name, data) pairs, checking that the two agree."""
    events = []
    for frame in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        data = orjson.loads(lines["data"])
        assert lines["event"] == data["event_type"], frame
        events.append(data)
    return events


def _provider(app):
    return app.state.ogx.providers[0].impl


async def test_create_with_a_string_input_answers_an_interaction(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "hello there"})
    assert response.status_code == 200, response.text
    body = response.json()
    INTERACTION.validate_python(body)
    assert body["object"] == "interaction" and body["role"] == "model" and body["model"] == MODEL
    assert body["status"] == "completed"
    assert body["outputs"] == [{"type": "text", "text": "echo: hello there"}]
    assert TIMESTAMP.match(body["created"]) and TIMESTAMP.match(body["updated"])
    usage = body["usage"]
    assert usage["total_input_tokens"] > 0 and usage["total_output_tokens"] > 0
    assert usage["total_tokens"] == usage["total_input_tokens"] + usage["total_output_tokens"]


async def test_system_instruction_generation_config_and_turns_reach_the_model(serve, fake_inference):
    request = {
        "model": MODEL,
        "system_instruction": "Answer briefly.",
        "input": [
            {"role": "user", "content": "Hi"},
            {"role": "model", "content": [{"type": "text", "text": "Hello!"}]},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Capital of "}, {"type": "text", "text": "France?"}],
            },
        ],
        "generation_config": {
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "max_output_tokens": 64,
            "stop_sequences": ["\n\n"],
            "seed": 7,
        },
    }
    async with serve(fake_inference()) as (client, app):
        response = await client.post(URL, json=request)
        chat = _provider(app).requests[-1]
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["text"] == "echo: Capital of France?"
    assert [(m.role, m.content) for m in chat.messages] == [
        ("system", "Answer briefly."),
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Capital of France?"),
    ]
    payload = chat.backend_payload()
    assert (payload["temperature"], payload["top_p"], payload["top_k"]) == (0.2, 0.9, 40)
    assert (payload["max_tokens"], payload["stop"], payload["seed"]) == (64, ["\n\n"], 7)


async def test_previous_interaction_id_continues_the_conversation(serve, fake_inference):
    async with serve(fake_inference()) as (client, app):
        first = (await client.post(URL, json={"model": MODEL, "input": "my name is Ada"})).json()
        second = await client.post(
            URL, json={"model": MODEL, "input": "what is my name?", "previous_interaction_id": first["id"]}
        )
        chat = _provider(app).requests[-1]
    assert second.status_code == 200, second.text
    assert second.json()["previous_interaction_id"] == first["id"]
    assert [(m.role, m.content) for m in chat.messages] == [
        ("user", "my name is Ada"),
        ("assistant", "echo: my name is Ada"),
        ("user", "what is my name?"),
    ]


async def test_store_false_leaves_nothing_to_get_or_continue(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        created = (await client.post(URL, json={"model": MODEL, "input": "x", "store": False})).json()
        got = await client.get(f"{URL}/{created['id']}")
        continued = await client.post(
            URL, json={"model": MODEL, "input": "y", "previous_interaction_id": created["id"]}
        )
    assert created["status"] == "completed" and created["id"]
    assert got.status_code == 404 and got.json()["error"]["code"] == "not_found"
    assert continued.status_code == 404
    assert "previous_interaction_id" in continued.json()["error"]["message"]


async def test_get_include_input_and_delete(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        created = (
            await client.post(URL, json={"model": MODEL, "input": [{"type": "text", "text": "hi"}]})
        ).json()
        plain = (await client.get(f"{URL}/{created['id']}")).json()
        with_input = (await client.get(f"{URL}/{created['id']}", params={"include_input": "true"})).json()
        deleted = await client.delete(f"{URL}/{created['id']}")
        after = await client.get(f"{URL}/{created['id']}")
        again = await client.delete(f"{URL}/{created['id']}")
    assert plain == created and "input" not in plain
    assert with_input["input"] == [{"type": "text", "text": "hi"}]
    assert deleted.status_code == 200 and deleted.json() == {}
    assert after.status_code == 404 and again.status_code == 404


async def test_streaming_emits_googles_events_in_order_and_stores_the_result(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "one two three", "stream": True})
        events = _events(response.text)
        stored = (await client.get(f"{URL}/{events[0]['interaction']['id']}")).json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [e["event_type"] for e in events]
    assert names[0] == "interaction.start" and names[-1] == "interaction.complete"
    assert names[1] == "content.start" and names[-2] == "content.stop"
    assert set(names[2:-2]) == {"content.delta"}
    assert events[0]["interaction"]["status"] == "in_progress"
    assert events[1]["content"] == {"type": "text", "text": ""} and events[1]["index"] == 0
    text = "".join(e["delta"]["text"] for e in events if e["event_type"] == "content.delta")
    assert text == "echo: one two three"
    final = events[-1]["interaction"]
    INTERACTION.validate_python(final)
    assert final["status"] == "completed" and final["outputs"] == [{"type": "text", "text": text}]
    assert final["usage"]["total_tokens"] > 0
    assert stored == final


async def test_stream_failing_before_its_first_chunk_is_an_http_error_in_googles_envelope(
    serve, fake_inference
):
    async with serve(fake_inference(fail_before_stream="ProviderUnavailable")) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "x", "stream": True})
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "provider_unavailable", "message": "fake ProviderUnavailable"}
    }


async def test_stream_failing_midway_ends_with_an_error_event(serve, fake_inference):
    async with serve(fake_inference(fail_mid_stream="ProviderError")) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "a b c", "stream": True})
    events = _events(response.text)
    assert response.status_code == 200
    assert events[-1] == {
        "event_type": "error",
        "error": {"code": "provider_error", "message": "fake ProviderError"},
    }
    assert "interaction.complete" not in [e["event_type"] for e in events]


async def test_get_with_stream_replays_the_interaction_and_resumes_after_an_event_id(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        created = (await client.post(URL, json={"model": MODEL, "input": "replay me"})).json()
        replay = _events((await client.get(f"{URL}/{created['id']}", params={"stream": "true"})).text)
        resumed = _events(
            (await client.get(f"{URL}/{created['id']}", params={"stream": "true", "last_event_id": "3"})).text
        )
    assert [e["event_type"] for e in replay] == [
        "interaction.start",
        "content.start",
        "content.delta",
        "content.stop",
        "interaction.complete",
    ]
    assert [e["event_id"] for e in replay] == ["1", "2", "3", "4", "5"]
    assert replay[2]["delta"] == {"type": "text", "text": "echo: replay me"}
    assert replay[-1]["interaction"] == created
    assert resumed == replay[3:]


async def test_background_interaction_completes_and_cannot_then_be_cancelled(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        created = (await client.post(URL, json={"model": MODEL, "input": "later", "background": True})).json()
        for _ in range(100):
            got = (await client.get(f"{URL}/{created['id']}")).json()
            if got["status"] != "in_progress":
                break
            await asyncio.sleep(0.01)
        cancel = await client.post(f"{URL}/{created['id']}/cancel")
    assert created["status"] == "in_progress" and "outputs" not in created
    assert got["status"] == "completed" and got["outputs"][0]["text"] == "echo: later"
    assert cancel.status_code == 400 and cancel.json()["error"]["code"] == "failed_precondition"


async def test_cancel_of_an_unknown_interaction_is_404(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(f"{URL}/v1_nope/cancel")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message"}


async def test_unknown_model_is_404_in_googles_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json={"model": "nope", "input": "x"})
        streamed = await client.post(URL, json={"model": "nope", "input": "x", "stream": True})
        background = await client.post(URL, json={"model": "nope", "input": "x", "background": True})
    for answer in (response, streamed, background):
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert set(error) == {"code", "message"} and error["code"] == "model_not_found"
        assert MODEL in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": "x"}, "model"),
        ({"model": MODEL}, "input"),
        ({"model": MODEL, "input": 5}, "input"),
        ({"model": MODEL, "input": [{"type": "text"}]}, "input[0].text"),
        ({"model": MODEL, "input": [{"role": "user", "content": "x", "extra": 1}]}, "input[0].extra"),
        ({"model": MODEL, "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        (
            {"model": MODEL, "input": [{"type": "google_search_call", "id": "1", "arguments": {}}]},
            "input[0].type",
        ),
        (
            {"model": MODEL, "input": "x", "generation_config": {"temprature": 1}},
            "generation_config.temprature",
        ),
        (
            {"model": MODEL, "input": "x", "generation_config": {"temperature": 9}},
            "generation_config.temperature",
        ),
        ({"model": MODEL, "input": "x", "tools": [{"type": "google_search"}]}, "tools[0].type"),
        ({"model": MODEL, "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": MODEL, "input": "x", "tools": [{"type": "function", "name": "a b"}]}, "tools[0].name"),
        ({"model": MODEL, "input": "x", "response_modalities": ["image"]}, "response_modalities"),
        ({"model": MODEL, "input": "x", "stream": True, "background": True}, "background"),
        ({"model": MODEL, "input": "x", "store": False, "background": True}, "store"),
        ({"model": MODEL, "input": "x", "agent": "deep-research-pro-preview-12-2025"}, "agent"),
        ({"model": MODEL, "input": []}, "input"),
    ],
)
async def test_malformed_request_is_400_naming_the_field(serve, fake_inference, body, field):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert field in error["message"]


async def test_body_that_is_not_json_is_400_in_googles_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, content=b"{nope")
        unknown_routes = [await client.get(f"/{version}/nothing-here") for version in ("v1beta", "v1alpha")]
        connector = await client.get("/v1beta/connectors/nope")  # OGX's own API under /v1beta
    assert response.status_code == 400 and set(response.json()["error"]) == {"code", "message"}
    for unknown_route in unknown_routes:
        assert unknown_route.status_code == 404 and set(unknown_route.json()["error"]) == {"code", "message"}
    assert connector.status_code == 404 and set(connector.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }


@pytest.mark.parametrize("alias", [ALIAS, "/v1/interactions"])  # google-genai 3.x's default: v1
async def test_an_alias_serves_the_same_interactions(serve, fake_inference, alias):
    async with serve(fake_inference()) as (client, _):
        created = (await client.post(alias, json={"model": MODEL, "input": "hello"})).json()
        continued = await client.post(
            URL, json={"model": MODEL, "input": "again", "previous_interaction_id": created["id"]}
        )
        fetched = await client.get(f"{alias}/{continued.json()['id']}")
        bad = await client.post(alias, json={"model": MODEL})
        deleted = await client.delete(f"{alias}/{created['id']}")
        gone = await client.get(f"{URL}/{created['id']}")
        missing = await client.post(f"{alias}/nope/cancel")
        openai = await client.post("/v1/chat/completions", json={})  # the rest of /v1 is OpenAI's
    assert created["outputs"] == [{"type": "text", "text": "echo: hello"}]
    assert continued.status_code == 200 and fetched.json() == continued.json()
    assert bad.status_code == 400 and set(bad.json()["error"]) == {"code", "message"}
    assert deleted.status_code == 200 and gone.status_code == 404
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"code", "message"}
    assert openai.status_code == 400 and {"type", "param"} <= set(openai.json()["error"])


@pytest.mark.parametrize("headers", [{"x-goog-api-key": "k"}, {"authorization": "Bearer k"}, {}])
async def test_either_api_key_header_is_accepted(serve, fake_inference, headers):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "x"}, headers=headers)
    assert response.status_code == 200


async def test_openapi_documents_the_interactions_routes(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert {"post"} <= set(paths[URL]) and {"get", "delete"} <= set(paths[f"{URL}/{{id}}"])
    assert "post" in paths[f"{URL}/{{id}}/cancel"]
    assert (
        paths[ALIAS]["post"]["x-ogx-alias-of"] == paths["/v1/interactions"]["post"]["x-ogx-alias-of"] == URL
    )
    assert paths[f"{ALIAS}/{{id}}"]["get"]["x-ogx-alias-of"] == f"{URL}/{{id}}"
    assert "x-ogx-alias-of" not in paths[URL]["post"]
    schemas = document["components"]["schemas"]
    assert {"model", "input", "generation_config", "previous_interaction_id"} <= set(
        schemas["CreateInteractionRequest"]["properties"]
    )
    assert set(schemas["GoogleErrorBody"]["properties"]) == {"error"}


# -- Api-Revision 2026-05-20: steps ---------------------------------------------------------

STEPS = {"Api-Revision": "2026-05-20"}
SCRIPTED = "scripted/scripted"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _collapsed(events: list[dict[str, Any]]) -> list[str]:
    """Event types, with a run of deltas as one."""
    kinds = [e["event_type"] for e in events]
    return [k for i, k in enumerate(kinds) if not (k == "step.delta" and kinds[i - 1] == k)]


async def test_an_interaction_is_shown_as_steps(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        created = await client.post(URL, json={"model": MODEL, "input": "hello"}, headers=STEPS)
        interaction_id = created.json()["id"]
        as_steps = await client.get(f"{URL}/{interaction_id}", headers=STEPS)
        as_outputs = await client.get(f"{URL}/{interaction_id}")
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "echo: hello"}]}]
    assert "outputs" not in body and "role" not in body
    assert body["status"] == "completed" and body["object"] == "interaction" and body["usage"]["total_tokens"]
    assert as_steps.json() == body
    assert as_outputs.json()["outputs"] == [{"type": "text", "text": "echo: hello"}], (
        "stored once, shown both ways"
    )


async def test_steps_as_input_reach_the_model_as_turns(serve_scripted):
    with ScriptedBackend([], models=["scripted"]) as backend:
        async with serve_scripted(backend) as (_, http, _):
            response = await http.post(
                URL,
                headers=STEPS,
                json={
                    "model": SCRIPTED,
                    "store": True,
                    "input": [
                        {"type": "user_input", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                        {
                            "type": "function_call",
                            "id": "c1",
                            "name": "get_weather",
                            "arguments": {"city": "Paris"},
                        },
                        {
                            "type": "function_result",
                            "call_id": "c1",
                            "name": "get_weather",
                            "result": "sunny",
                        },
                        {"type": "model_output", "content": [{"type": "text", "text": "It is sunny."}]},
                        {"type": "user_input", "content": [{"type": "text", "text": "Thanks"}]},
                    ],
                    "tools": [WEATHER],
                },
            )
            stored = await http.get(f"{URL}/{response.json()['id']}?include_input=true", headers=STEPS)
    assert response.status_code == 200, response.text
    messages = backend.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    call = messages[1]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert messages[2]["tool_call_id"] == "c1" and messages[2]["content"] == "sunny"
    input_steps = stored.json()["input"]
    assert [s["type"] for s in input_steps] == [
        "user_input",
        "function_call",
        "function_result",
        "model_output",
        "user_input",
    ]


async def test_an_output_format_becomes_the_json_schema(serve_scripted):
    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}
    text_format = {"type": "text", "mime_type": "application/json", "schema": schema}
    with ScriptedBackend([], models=["scripted"]) as backend:
        async with serve_scripted(backend) as (_, http, _):
            listed = await http.post(
                URL, headers=STEPS, json={"model": SCRIPTED, "input": "x", "response_format": [text_format]}
            )
            sent = backend.requests[-1]["response_format"]
            image = await http.post(
                URL,
                headers=STEPS,
                json={"model": SCRIPTED, "input": "x", "response_format": {"type": "image"}},
            )
    assert listed.status_code == 200, listed.text
    assert sent == {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    assert image.status_code == 400 and "response_format" in image.json()["error"]["message"]


async def test_a_stream_is_step_events(serve_scripted):
    rules = [
        Rule(
            tool="get_weather",
            reply=Reply(reasoning="Look it up.", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]),
        )
    ]
    with ScriptedBackend(rules, models=["scripted"]) as backend:
        async with serve_scripted(backend) as (_, http, _):
            body = {"model": SCRIPTED, "input": "Weather in Oslo?", "tools": [WEATHER], "stream": True}
            streamed = await http.post(URL, json=body, headers=STEPS)
            interaction_id = _events(streamed.text)[0]["interaction"]["id"]
            replayed = await http.get(f"{URL}/{interaction_id}?stream=true", headers=STEPS)
    assert streamed.status_code == 200, streamed.text
    events = _events(streamed.text)
    kinds = _collapsed(events)
    assert kinds == [
        "interaction.created",
        "step.start",
        "step.delta",
        "step.stop",
        "step.start",
        "step.delta",
        "step.stop",
        "interaction.completed",
    ]
    assert events[1]["step"] == {"type": "thought"} and events[2]["delta"]["type"] == "thought_summary"
    call = [e for e in events if e.get("index") == 1]
    assert call[0] == {
        "event_type": "step.start",
        "index": 1,
        "step": {
            "type": "function_call",
            "id": call[0]["step"]["id"],
            "name": "get_weather",
            "arguments": {},
        },
    }
    assert call[1]["delta"]["type"] == "arguments_delta"
    assert json.loads(call[1]["delta"]["arguments"]) == {"city": "Oslo"}
    final = events[-1]["interaction"]
    assert final["status"] == "requires_action" and "outputs" not in final
    assert [s["type"] for s in final["steps"]] == ["thought", "function_call"]
    assert _collapsed(_events(replayed.text)) == kinds, "a replay speaks the same revision"


@pytest.mark.parametrize(
    ("headers", "shape"),
    [
        ({"x-goog-api-client": "google-genai-sdk/2.34.0 gl-python/3.11.7"}, "steps"),  # sends no revision
        ({"x-goog-api-client": "google-genai-sdk/3.4.0 gl-python/3.11.7"}, "steps"),  # nor does 3.x
        ({"x-goog-api-client": "gl-python/3.11.7 google-genai-sdk/10.0.0"}, "steps"),
        ({"x-goog-api-client": "google-genai-sdk/1.75.0 gl-python/3.11.7"}, "outputs"),
        ({"x-goog-api-client": "google-genai-sdk/2.34.0", "Api-Revision": "2025-12-01"}, "outputs"),
        ({}, "outputs"),
    ],
)
async def test_google_genai_2_and_later_get_steps_without_asking(serve, fake_inference, headers, shape):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(URL, json={"model": MODEL, "input": "x"}, headers=headers)
    assert response.status_code == 200 and shape in response.json()


async def test_a_malformed_revision_is_a_400_and_an_older_one_the_original(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        bad = await client.post(URL, json={"model": MODEL, "input": "x"}, headers={"Api-Revision": "latest"})
        older = await client.post(
            URL, json={"model": MODEL, "input": "x"}, headers={"Api-Revision": "2025-12-01"}
        )
        bad_step = await client.post(
            URL, json={"model": MODEL, "input": [{"type": "user_input", "content": 5}]}, headers=STEPS
        )
    assert bad.status_code == 400 and "Api-Revision" in bad.json()["error"]["message"]
    assert set(bad.json()["error"]) == {"code", "message"}
    assert older.status_code == 200 and "outputs" in older.json()
    assert bad_step.status_code == 400 and "input" in bad_step.json()["error"]["message"]
