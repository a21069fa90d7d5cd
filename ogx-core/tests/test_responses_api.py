"""`/v1/responses` in-process with the `openai` SDK: create (JSON and SSE), multi-turn through
`previous_response_id`, storage (get, list, delete, input items, `store: false`), the events'
order and shapes against the Open Responses schema, and bad input as 4xx errors."""

from __future__ import annotations

import json

import openai
import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend

MODEL = "scripted/scripted"


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.fixture
def backend():
    with ScriptedBackend(
        [
            Rule(contains="long story", reply=Reply(text="once upon a time there was a model")),
            Rule(contains="think first", reply=Reply(text="forty two", reasoning="six times seven")),
            Rule(contains="explode", reply=Reply(status=503, error="backend down")),
        ]
    ) as server:
        yield server


async def test_a_string_input_answers_a_completed_response(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, http, _):
        response = await sdk.responses.create(model=MODEL, input="hello there", instructions="Be brief.")
        raw = (await http.get(f"/v1/responses/{response.id}")).json()
    assert response.status == "completed"
    assert response.output_text == "echo: hello there"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens == 3
    assert backend.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."}
    open_responses("ResponseResource", raw)
    assert raw["id"].startswith("resp_") and raw["store"] is True and raw["completed_at"] is not None


async def test_previous_response_id_continues_the_conversation(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, _, _):
        first = await sdk.responses.create(model=MODEL, input="my name is Ada", instructions="Only once.")
        second = await sdk.responses.create(
            model=MODEL, input="what is my name?", previous_response_id=first.id
        )
    assert second.previous_response_id == first.id
    messages = backend.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]  # instructions don't carry over
    assert messages[1]["content"] == "echo: my name is Ada"


async def test_streaming_events_are_ordered_numbered_and_match_the_schema(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "a long story", "stream": True}
        )
        events = sse_events(answer.text)
        stored = (await http.get(f"/v1/responses/{events[0]['response']['id']}")).json()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "once upon a time there was a model" and len(deltas) > 1
    schema_names = {
        "response.created": "ResponseCreatedStreamingEvent",
        "response.in_progress": "ResponseInProgressStreamingEvent",
        "response.output_item.added": "ResponseOutputItemAddedStreamingEvent",
        "response.content_part.added": "ResponseContentPartAddedStreamingEvent",
        "response.output_text.delta": "ResponseOutputTextDeltaStreamingEvent",
        "response.output_text.done": "ResponseOutputTextDoneStreamingEvent",
        "response.content_part.done": "ResponseContentPartDoneStreamingEvent",
        "response.output_item.done": "ResponseOutputItemDoneStreamingEvent",
        "response.completed": "ResponseCompletedStreamingEvent",
    }
    for event in events:
        open_responses(schema_names[event["type"]], event)
    assert stored == events[-1]["response"]  # stored as the terminal event carries it


async def test_the_json_answer_equals_the_terminal_event_of_the_same_request(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        plain = (await http.post("/v1/responses", json={"model": MODEL, "input": "a long story"})).json()
        streamed = sse_events(
            (
                await http.post(
                    "/v1/responses", json={"model": MODEL, "input": "a long story", "stream": True}
                )
            ).text
        )[-1]["response"]

    def comparable(response):
        dropped = ("id", "created_at", "completed_at")
        output = [{k: v for k, v in item.items() if k != "id"} for item in response["output"]]
        return {**{k: v for k, v in response.items() if k not in dropped}, "output": output}

    assert comparable(plain) == comparable(streamed)


async def test_reasoning_streams_as_a_reasoning_item_before_the_message(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        events = sse_events(
            (
                await http.post(
                    "/v1/responses", json={"model": MODEL, "input": "think first", "stream": True}
                )
            ).text
        )
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert final["output"][0]["content"] == [{"type": "reasoning_text", "text": "six times seven"}]
    reasoning = [e for e in events if e["type"].startswith("response.reasoning.")]
    assert "".join(e["delta"] for e in reasoning if e["type"].endswith("delta")) == "six times seven"
    assert reasoning[-1] == {**reasoning[-1], "type": "response.reasoning.done", "text": "six times seven"}
    for event in events:  # every event is one the Open Responses spec defines, in its shape
        open_responses("event", event)


async def test_store_false_leaves_nothing_behind(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, http, _):
        response = await sdk.responses.create(model=MODEL, input="secret", store=False)
        streamed = sse_events(
            (
                await http.post(
                    "/v1/responses", json={"model": MODEL, "input": "x", "store": False, "stream": True}
                )
            ).text
        )
        missing = await http.get(f"/v1/responses/{response.id}")
        missing_streamed = await http.get(f"/v1/responses/{streamed[-1]['response']['id']}")
        listed = (await http.get("/v1/responses")).json()
        follow_up = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "more", "previous_response_id": response.id}
        )
    assert response.store is False and response.status == "completed"
    assert missing.status_code == 404 and missing_streamed.status_code == 404
    assert listed["data"] == []
    assert follow_up.status_code == 404
    assert follow_up.json()["error"]["param"] == "previous_response_id"


async def test_list_get_delete_and_input_items(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, http, _):
        ids = [(await sdk.responses.create(model=MODEL, input=f"number {n}")).id for n in range(3)]
        items_response = await sdk.responses.create(
            model=MODEL,
            input=[
                {"role": "system", "content": "sys"},
                {"role": "user", "content": [{"type": "input_text", "text": "part one"}]},
                {"type": "message", "role": "user", "content": "part two"},
            ],
        )
        first_page = (await http.get("/v1/responses", params={"limit": 2})).json()
        second_page = (
            await http.get("/v1/responses", params={"limit": 2, "after": first_page["last_id"]})
        ).json()
        ascending = (await http.get("/v1/responses", params={"order": "asc"})).json()
        items = await sdk.responses.input_items.list(items_response.id, order="asc")
        items_page = (
            await http.get(f"/v1/responses/{items_response.id}/input_items", params={"limit": 1})
        ).json()
        deleted = await http.delete(f"/v1/responses/{ids[0]}")
        again = await http.delete(f"/v1/responses/{ids[0]}")
        after_delete = (await http.get("/v1/responses")).json()
    assert [r["id"] for r in first_page["data"]] == [items_response.id, ids[2]] and first_page["has_more"]
    assert [r["id"] for r in second_page["data"]] == [ids[1], ids[0]] and not second_page["has_more"]
    assert [r["id"] for r in ascending["data"]] == [*ids, items_response.id]
    assert [i.role for i in items.data] == ["system", "user", "user"]
    assert items.data[2].content[0].text == "part two" and items.data[0].id.startswith("msg_")
    assert items_page["data"][0]["content"][0]["text"] == "part two" and items_page["has_more"]
    assert deleted.json() == {"id": ids[0], "object": "response", "deleted": True}
    assert again.status_code == 404
    assert ids[0] not in [r["id"] for r in after_delete["data"]]


async def test_a_backend_failure_before_any_output_is_an_http_error(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, http, _):
        with pytest.raises(openai.APIStatusError) as failure:
            await sdk.responses.create(model=MODEL, input="explode")
        streamed = await http.post("/v1/responses", json={"model": MODEL, "input": "explode", "stream": True})
    assert failure.value.status_code == 503
    assert streamed.status_code == 503 and streamed.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": MODEL, "input": "x", "previous_response_id": "resp_nope"}, 404, "previous_response_id"),
        (
            {"model": MODEL, "input": "x", "previous_response_id": "resp_a", "conversation": "conv_b"},
            400,
            "previous_response_id",
        ),
        ({"model": MODEL, "input": "x", "tools": [{"type": "web_search_preview_2099"}]}, 400, "tools[0]"),
        (
            {"model": MODEL, "input": [{"type": "function_call_output", "output": "no call id"}]},
            400,
            "input[0]",
        ),
        (
            {"model": MODEL, "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]},
            400,
            "input",
        ),
        (
            {"model": MODEL, "input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]},
            404,
            "tools.vector_store_ids",
        ),
        ({"model": "nope/unknown", "input": "x"}, 404, "model"),
        ({"model": MODEL, "input": "x", "max_output_tokens": 2}, 400, "max_output_tokens"),
        ({"model": MODEL, "input": "x", "background": True, "stream": True}, 400, "background"),
        (
            {"model": MODEL, "input": "x", "text": {"format": {"type": "json_schema", "name": "x"}}},
            400,
            "text.format.schema",
        ),
    ],
)
async def test_bad_input_is_a_4xx_in_the_openai_envelope(backend, serve_scripted, body, status, param):
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post("/v1/responses", json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error"
    assert (error["param"] or "").startswith(param), error
    assert not backend.requests


async def test_structured_output_passes_the_schema_to_the_model(backend, serve_scripted, open_responses):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    async with serve_scripted(backend) as (sdk, _, _):
        response = await sdk.responses.create(
            model=MODEL,
            input='{"city": "Paris"}',
            text={"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": True}},
        )
    assert backend.requests[-1]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "place", "schema": schema, "strict": True},
    }
    assert response.text.format.type == "json_schema"
    assert json.loads(response.output_text.removeprefix("echo: ")) == {"city": "Paris"}


async def test_sampling_and_passthrough_parameters_reach_the_model_and_are_echoed(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        body = (
            await http.post(
                "/v1/responses",
                json={
                    "model": MODEL,
                    "input": "hi",
                    "temperature": 0.3,
                    "top_p": 0.8,
                    "presence_penalty": 0.5,
                    "frequency_penalty": 0.25,
                    "top_logprobs": 2,
                    "prompt_cache_key": "k1",
                    "safety_identifier": "user-7",
                    "service_tier": "flex",
                    "metadata": {"team": "a"},
                    "reasoning": {"effort": "low"},
                    "max_output_tokens": 64,
                },
            )
        ).json()
    sent = backend.requests[-1]
    for name, value in [
        ("temperature", 0.3),
        ("top_p", 0.8),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.25),
        ("top_logprobs", 2),
        ("prompt_cache_key", "k1"),
        ("safety_identifier", "user-7"),
        ("service_tier", "flex"),
    ]:
        assert sent[name] == value and body[name] == value, name
    assert sent["logprobs"] is True and sent["reasoning_effort"] == "low"
    assert sent["max_completion_tokens"] == 64 and body["max_output_tokens"] == 64
    assert body["metadata"] == {"team": "a"} and body["reasoning"]["effort"] == "low"


async def test_max_output_tokens_is_a_budget_that_ends_incomplete(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, _, _):
        response = await sdk.responses.create(model=MODEL, input="a long story", max_output_tokens=16)
        cut = await sdk.responses.create(
            model=MODEL, input="a long story", extra_body={"max_completion_tokens": 3}
        )
    assert response.status == "completed"  # 8 words fit in 16
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "length"
    assert cut.output[0].status == "incomplete"


async def test_compaction_summarises_and_a_later_request_continues_from_it(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        first = (
            await http.post("/v1/responses", json={"model": MODEL, "input": "we launch on Tuesday"})
        ).json()
        compacted = await http.post(
            "/v1/responses/compact",
            json={"model": MODEL, "previous_response_id": first["id"], "input": "and?"},
        )
        body = compacted.json()
        follow_up = await http.post(
            "/v1/responses",
            json={"model": MODEL, "input": [*body["output"], {"role": "user", "content": "next"}]},
        )
        missing_model = await http.post("/v1/responses/compact", json={"input": "x"})
    assert compacted.status_code == 200, compacted.text
    assert body["object"] == "response.compaction" and body["usage"]["total_tokens"] > 0
    kept, summary = body["output"][:-1], body["output"][-1]
    assert [m["content"][0]["text"] for m in kept] == ["we launch on Tuesday", "and?"]
    assert summary["type"] == "compaction" and summary["encrypted_content"].startswith("echo: ")
    assert follow_up.status_code == 200, follow_up.text
    sent = backend.requests[-1]["messages"]
    assert sent[-2]["content"].startswith("Summary of the conversation so far:")
    assert missing_model.status_code == 400 and missing_model.json()["error"]["param"] == "model"


async def test_truncation_auto_drops_the_oldest_turns_to_fit_the_context(backend, serve_scripted):
    small = {"model_id": "small", "provider_id": "scripted", "provider_model_id": "scripted",
             "metadata": {"context_length": 40}}  # fmt: skip
    history = [
        {"role": "user", "content": "first question " + "padding " * 20},
        {"role": "assistant", "content": "first answer " + "padding " * 20},
        {"role": "user", "content": "the latest question"},
    ]
    async with serve_scripted(backend, registered_resources={"models": [small]}) as (_, http, _):
        kept = await http.post(
            "/v1/responses",
            json={"model": "small", "input": history, "instructions": "Be brief.", "truncation": "auto"},
        )
        whole = await http.post("/v1/responses", json={"model": "small", "input": history})
    assert kept.status_code == 200 and kept.json()["truncation"] == "auto"
    assert [m["content"] for m in backend.requests[0]["messages"]] == ["Be brief.", "the latest question"]
    assert whole.status_code == 200 and len(backend.requests[1]["messages"]) == 3


async def test_input_files_and_images_by_file_id_reach_the_model_readable(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, http, _):
        text = await sdk.files.create(file=("notes.txt", b"the launch is on Tuesday"), purpose="user_data")
        image = await sdk.files.create(file=("dot.png", b"\x89PNG-bytes"), purpose="vision")
        answer = await http.post(
            "/v1/responses",
            json={
                "model": MODEL,
                "input": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "When is the launch?"},
                            {"type": "input_file", "file_id": text.id},
                            {"type": "input_image", "file_id": image.id},
                        ],
                    }
                ],
            },
        )
        missing = await http.post(
            "/v1/responses",
            json={
                "model": MODEL,
                "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-nope"}]}],
            },
        )
    assert answer.status_code == 200, answer.text
    parts = backend.requests[-1]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "When is the launch?"}
    assert (
        parts[1]["type"] == "text"
        and "the launch is on Tuesday" in parts[1]["text"]
        and "notes.txt" in parts[1]["text"]
    )
    assert parts[2]["type"] == "image_url" and parts[2]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "file_not_found"


async def test_each_owner_sees_only_their_responses(backend, serve_scripted, principal_from_header):
    alice, bob = {"x-test-principal": "alice"}, {"x-test-principal": "bob"}
    async with serve_scripted(backend) as (_, http, app):
        app.add_middleware(principal_from_header)
        mine = (await http.post("/v1/responses", json={"model": MODEL, "input": "hi"}, headers=alice)).json()
        base = f"/v1/responses/{mine['id']}"
        refused = [
            await http.get(base, headers=bob),
            await http.get(f"{base}/input_items", headers=bob),
            await http.delete(base, headers=bob),
            await http.post("/v1/responses", json={"model": MODEL, "input": "x", "previous_response_id": mine["id"]},
                            headers=bob),
        ]  # fmt: skip
        bobs_list = (await http.get("/v1/responses", headers=bob)).json()
        still_there = await http.get(base, headers=alice)
    assert [r.status_code for r in refused] == [404, 404, 404, 404]
    assert bobs_list["data"] == [] and still_there.status_code == 200


async def test_include_logprobs_returns_the_backends_token_logprobs(backend, serve_scripted, open_responses):
    include = ["message.output_text.logprobs"]
    async with serve_scripted(backend) as (sdk, http, _):
        plain = await sdk.responses.create(model=MODEL, input="a long story")
        asked = await sdk.responses.create(model=MODEL, input="a long story", include=include, top_logprobs=2)
        streamed = sse_events(
            (
                await http.post(
                    "/v1/responses",
                    json={"model": MODEL, "input": "a long story", "include": include, "stream": True},
                )
            ).text
        )
    assert "logprobs" not in backend.requests[0]
    assert backend.requests[1]["logprobs"] is True and backend.requests[1]["top_logprobs"] == 2
    assert plain.output[0].content[0].logprobs == []
    tokens = asked.output[0].content[0].logprobs
    assert "".join(t.token for t in tokens) == "once upon a time there was a model"
    assert [t.logprob for t in tokens[:2]] == [-0.1, -0.2] and tokens[1].bytes == list(b" upon")
    assert [top.token for top in tokens[0].top_logprobs] == ["once", "alt1"]
    deltas = [e for e in streamed if e["type"] == "response.output_text.delta"]
    assert [d["logprobs"][0]["token"] for d in deltas] == [t.token for t in tokens]
    final = streamed[-1]["response"]["output"][0]["content"][0]["logprobs"]
    assert [t["logprob"] for t in final] == [t.logprob for t in tokens]
    for event in streamed:
        open_responses("event", event)
