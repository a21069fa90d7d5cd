"""The Responses loop's tool choreography in-process, over the scripted backend: client-side
function calls (round trip through `previous_response_id`, parallel calls, tool_choice), and
server-side file_search over a vector-stores service double (bounds, parallel runs, failures the
model sees, citations, a provider failure mid-loop)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ogx_api import NotFound
from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

MODEL = "scripted/scripted"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def _tool_result(request: dict[str, Any]) -> str:
    results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
    return "Answer from " + " | ".join(results)


def _first_user(text: str):
    return lambda request: (
        text in request["messages"][0]["content"] and request["messages"][-1]["role"] == "tool"
    )


RULES = [
    Rule(
        contains="both",
        reply=Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}), ToolCall("get_time")]),
    ),
    Rule(
        last_role="user",
        contains="weather",
        reply=Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
    ),
    Rule(
        last_role="user",
        contains="search twice",
        reply=Reply(
            tool_calls=[
                ToolCall("file_search", {"query": "alpha"}),
                ToolCall("file_search", {"query": "beta"}),
            ]
        ),
    ),
    Rule(
        when=_first_user("search forever"), reply=Reply(tool_calls=[ToolCall("file_search", {"query": "q"})])
    ),
    Rule(when=_first_user("search then fail"), reply=Reply(status=500, error="backend broke")),
    Rule(
        last_role="user",
        contains="search",
        reply=Reply(tool_calls=[ToolCall("file_search", {"query": "ogx"})]),
    ),
    Rule(last_role="tool", reply=Reply(text=_tool_result)),
]


class Stores:
    """The vector stores service as the Responses loop calls it (`get`, `search`)."""

    def __init__(self, fail: bool = False) -> None:
        self.searches: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    async def get(self, vector_store_id: str, *, owner: str | None) -> dict[str, Any]:
        if vector_store_id != "vs_docs":
            raise NotFound(f"vector store {vector_store_id!r} not found")
        return {"id": vector_store_id}

    async def search(
        self, vector_store_id: str, *, query: str, owner: str | None, **options: Any
    ) -> dict[str, Any]:
        self.searches.append((vector_store_id, query, options))
        if self.fail:
            from ogx_api import ProviderUnavailable

            raise ProviderUnavailable("the vector database is down")
        hit = {
            "file_id": "file-abc123",
            "filename": "guide.md",
            "score": 0.9,
            "attributes": {"lang": "en"},
            "content": [{"type": "text", "text": f"OGX serves {query}."}],
        }
        return {
            "object": "vector_store.search_results.page",
            "search_query": query,
            "data": [hit],
            "has_more": False,
        }


@pytest.fixture
def backend():
    with ScriptedBackend(RULES) as server:
        yield server


def _with_stores(app: Any, stores: Stores) -> None:
    app.state.ogx.responses._tools.vector_stores = stores


FILE_SEARCH = {"type": "file_search", "vector_store_ids": ["vs_docs"], "max_num_results": 5}


async def test_a_function_call_round_trip_through_previous_response_id(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (sdk, http, _):
        first = await sdk.responses.create(model=MODEL, input="what is the weather?", tools=[WEATHER])
        call = first.output[0]
        second = await sdk.responses.create(
            model=MODEL,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"}],
            tools=[WEATHER],
        )
        raw = (await http.get(f"/v1/responses/{first.id}")).json()
    assert first.status == "completed"
    assert (
        call.type == "function_call"
        and call.name == "get_weather"
        and json.loads(call.arguments) == {"city": "Paris"}
    )
    open_responses("ResponseResource", raw)
    assert second.output_text == "Answer from sunny, 21C"
    messages = backend.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == call.call_id
    assert backend.requests[0]["tools"][0]["function"]["name"] == "get_weather"


async def test_a_streamed_function_call_sends_its_arguments_as_deltas(
    backend, serve_scripted, open_responses
):
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "weather?", "tools": [WEATHER], "stream": True}
        )
    events = sse_events(answer.text)
    types = [e["type"] for e in events]
    assert types[0:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert len(deltas) >= 2 and json.loads("".join(deltas)) == {"city": "Paris"} == json.loads(
        done["arguments"]
    )
    assert types[-2:] == ["response.output_item.done", "response.completed"]
    for event in events:
        if event["type"] == "response.function_call_arguments.delta":
            open_responses("ResponseFunctionCallArgumentsDeltaStreamingEvent", event)
        if event["type"] == "response.function_call_arguments.done":
            open_responses("ResponseFunctionCallArgumentsDoneStreamingEvent", event)
    open_responses("ResponseCompletedStreamingEvent", events[-1])


async def test_parallel_function_calls_come_back_together(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, _, _):
        response = await sdk.responses.create(
            model=MODEL, input="both please", tools=[WEATHER, TIME], parallel_tool_calls=True
        )
        outputs = [
            {"type": "function_call_output", "call_id": item.call_id, "output": item.name.upper()}
            for item in response.output
        ]
        answer = await sdk.responses.create(model=MODEL, previous_response_id=response.id, input=outputs)
    assert [item.name for item in response.output] == ["get_weather", "get_time"]
    assert backend.requests[0]["parallel_tool_calls"] is True
    assert answer.output_text == "Answer from GET_WEATHER | GET_TIME"


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("required", "required"),
        ("none", "none"),
        ({"type": "function", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_time"}],
            },
            "required",
        ),
    ],
)
async def test_tool_choice_reaches_the_model(backend, serve_scripted, tool_choice, sent):
    async with serve_scripted(backend) as (_, http, _):
        body = (
            await http.post(
                "/v1/responses",
                json={"model": MODEL, "input": "hello", "tools": [WEATHER, TIME], "tool_choice": tool_choice},
            )
        ).json()
    request = backend.requests[-1]
    assert request["tool_choice"] == sent
    names = [t["function"]["name"] for t in request["tools"]]
    assert names == (
        ["get_time"]
        if isinstance(tool_choice, dict) and "tools" in tool_choice
        else ["get_weather", "get_time"]
    )
    assert body["tool_choice"] == tool_choice


async def test_file_search_answers_with_citations_and_optional_results(
    backend, serve_scripted, open_responses
):
    stores = Stores()
    async with serve_scripted(backend) as (sdk, http, app):
        _with_stores(app, stores)
        plain = await sdk.responses.create(model=MODEL, input="search the docs", tools=[FILE_SEARCH])
        answer = await http.post(
            "/v1/responses",
            json={
                "model": MODEL,
                "input": "search the docs",
                "tools": [FILE_SEARCH],
                "stream": True,
                "include": ["file_search_call.results"],
            },
        )
    events = sse_events(answer.text)
    final = events[-1]["response"]
    search_call, message = final["output"]
    assert search_call["type"] == "file_search_call" and search_call["status"] == "completed"
    assert search_call["queries"] == ["ogx"]
    assert (
        search_call["results"][0]["file_id"] == "file-abc123"
        and search_call["results"][0]["text"] == "OGX serves ogx."
    )
    assert plain.output[0].results is None  # only with include
    annotation = message["content"][0]["annotations"][0]
    assert annotation["type"] == "file_citation" and annotation["file_id"] == "file-abc123"
    assert annotation["filename"] == "guide.md"
    assert "<|file-abc123|>" in backend.requests[1]["messages"][-1]["content"]
    assert stores.searches[0] == (
        "vs_docs",
        "ogx",
        {"filters": None, "max_num_results": 5, "ranking_options": None},
    )
    types = [e["type"] for e in events]
    order = [
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.annotation.added",
    ]
    assert [t for t in types if t in order] == order
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    annotation_event = next(e for e in events if e["type"] == "response.output_text.annotation.added")
    assert annotation_event["annotation"] == annotation


async def test_server_side_calls_asked_together_run_in_parallel_and_count_against_max_tool_calls(
    backend, serve_scripted
):
    stores = Stores()
    async with serve_scripted(backend) as (sdk, _, app):
        _with_stores(app, stores)
        both = await sdk.responses.create(model=MODEL, input="search twice", tools=[FILE_SEARCH])
        capped = await sdk.responses.create(
            model=MODEL, input="search twice", tools=[FILE_SEARCH], max_tool_calls=1
        )
    assert [o.type for o in both.output] == ["file_search_call", "file_search_call", "message"]
    assert [s[1] for s in stores.searches[:2]] == ["alpha", "beta"]
    assert capped.output[1].status == "incomplete" and len(stores.searches) == 3
    assert "maximum tool calls limit (1)" in capped.output_text


async def test_max_infer_iters_ends_an_endless_loop_incomplete(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, _, app):
        _with_stores(app, Stores())
        response = await sdk.responses.create(
            model=MODEL, input="search forever", tools=[FILE_SEARCH], extra_body={"max_infer_iters": 3}
        )
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_infer_iters"
    assert len(backend.requests) == 3
    assert [o.type for o in response.output] == ["file_search_call"] * 3


async def test_a_failing_tool_is_a_result_the_model_reads(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, _, app):
        _with_stores(app, Stores(fail=True))
        response = await sdk.responses.create(model=MODEL, input="search the docs", tools=[FILE_SEARCH])
    assert response.status == "completed"
    assert response.output[0].status == "failed"
    assert response.output_text == "Answer from Error: the vector database is down"


async def test_a_provider_failure_mid_loop_is_a_failed_response(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (_, http, app):
        _with_stores(app, Stores())
        answer = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "search then fail", "tools": [FILE_SEARCH]}
        )
        stored = (await http.get(f"/v1/responses/{answer.json()['id']}")).json()
    body = answer.json()
    assert answer.status_code == 200
    assert body["status"] == "failed" and body["error"]["code"] == "server_error"
    assert "backend broke" in body["error"]["message"]
    assert body["output"][0]["type"] == "file_search_call"
    assert stored == body


async def test_an_unknown_vector_store_is_a_404(backend, serve_scripted):
    async with serve_scripted(backend) as (_, http, app):
        _with_stores(app, Stores())
        answer = await http.post(
            "/v1/responses",
            json={
                "model": MODEL,
                "input": "search",
                "tools": [{"type": "file_search", "vector_store_ids": ["vs_x"]}],
            },
        )
    assert answer.status_code == 404
    assert "vs_x" in answer.json()["error"]["message"] and not backend.requests


@pytest.mark.parametrize(
    ("policy", "needs"),
    [
        (None, {"add": True, "echo": True}),
        ("never", {"add": False, "echo": False}),
        ("always", {"add": True, "echo": True}),
        ({"never": {"tool_names": ["echo"]}}, {"add": True, "echo": False}),
        ({"always": {"tool_names": ["add"]}}, {"add": True, "echo": True}),
    ],
)
def test_mcp_approval_policy_defaults_to_always_as_openai_does(policy, needs):
    from ogx.responses.schema import McpTool

    tool = McpTool(
        type="mcp", server_label="calc", server_url="https://mcp.example.com/mcp", require_approval=policy
    )
    assert {name: tool.needs_approval(name) for name in needs} == needs
