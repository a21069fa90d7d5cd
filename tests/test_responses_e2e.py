"""The Responses API end to end: `ogx run` driven by the `openai` SDK.

- MCP tools against a real MCP server (`plugins/ogx-mcp/tests/mcp_test_server.py`, the `mcp`
  SDK) through ogx-mcp, with the scripted backend deciding the tool calls: without approval, and
  with an approval request answered in a second request.
- Basic, multi-turn and streamed responses against the real local model (Gemma 3 270M).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

pytestmark = pytest.mark.integration

MCP_SERVER = Path(__file__).resolve().parents[1] / "plugins" / "ogx-mcp" / "tests" / "mcp_test_server.py"
MODEL = "scripted"


def _tool_text(request: dict) -> str:
    return "The tool said: " + " | ".join(m["content"] for m in request["messages"] if m["role"] == "tool")


RULES = [
    Rule(
        last_role="user",
        contains="espresso",
        reply=Reply(tool_calls=[ToolCall("file_search", {"query": "how to descale the espresso machine"})]),
    ),
    Rule(last_role="user", contains="add", reply=Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3})])),
    Rule(
        last_role="user",
        contains="both",
        reply=Reply(tool_calls=[ToolCall("add", {"a": 1, "b": 1}), ToolCall("echo", {"text": "hi"})]),
    ),
    Rule(
        last_role="user", contains="break", reply=Reply(tool_calls=[ToolCall("fail", {"message": "no way"})])
    ),
    Rule(last_role="tool", reply=Reply(text=_tool_text)),
    Rule(contains="slow story", reply=Reply(text="one two three four five six seven eight", chunk_delay=0.4)),
]


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("mcp") / "mcp.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(MCP_SERVER), "streamable-http"],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), log.read_text()
        port = int(line.split()[1])
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def backend():
    with ScriptedBackend(RULES, models=["scripted"]) as backend:
        yield backend


@pytest.fixture(scope="module")
def client(backend, ogx_runner, tmp_path_factory) -> Iterator[openai.OpenAI]:
    config = {
        "version": 2,
        "name": "e2e-responses",
        "server": {"outbound": {"allow_loopback": True}},  # the MCP test server is on loopback
        "providers": {
            "inference": [
                {
                    "provider_id": "scripted",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": backend.base_url},
                },
                {"provider_id": "minilm", "provider_type": "inline::minilm", "config": {}},
            ],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"url_policy": {"allow_loopback": True}},
                }
            ],
        },
        "registered_resources": {
            "models": [
                {"model_id": MODEL, "provider_id": "scripted", "provider_model_id": "scripted"},
                {
                    "model_id": "minilm",
                    "provider_id": "minilm",
                    "provider_model_id": "all-minilm-l6-v2",
                    "model_type": "embedding",
                    "metadata": {"embedding_dimension": 384},
                },
            ]
        },
    }
    with ogx_runner(config, tmp_path_factory.mktemp("ogx-responses")) as server:
        with openai.OpenAI(
            base_url=server.openai_base_url, api_key="none", max_retries=0, timeout=60
        ) as client:
            yield client
        server.assert_no_server_errors()


def _mcp(url: str, **extra) -> dict:
    return {"type": "mcp", "server_label": "calc", "server_url": url, **extra}


def test_mcp_tools_run_on_the_server_without_approval(client, mcp_url):
    response = client.responses.create(
        model=MODEL, input="add two numbers", tools=[_mcp(mcp_url, require_approval="never")]
    )
    listing, call, message = response.output
    assert listing.type == "mcp_list_tools" and listing.server_label == "calc"
    assert {"add", "echo", "fail"} <= {t.name for t in listing.tools}
    assert call.type == "mcp_call" and call.name == "add" and json.loads(call.arguments) == {"a": 2, "b": 3}
    assert call.output == "5" and call.error is None
    assert message.content[0].text == "The tool said: 5"


def test_mcp_calls_asked_together_stream_their_events(client, mcp_url):
    events = list(
        client.responses.create(
            model=MODEL,
            input="both tools",
            tools=[_mcp(mcp_url, require_approval="never", allowed_tools=["add", "echo"])],
            stream=True,
        )
    )
    types = [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for expected in (
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
    ):
        assert expected in types, expected
    final = events[-1].response
    assert [t.name for t in final.output[0].tools] == ["add", "echo"]
    assert [o.output for o in final.output if o.type == "mcp_call"] == ["2", "hi"]


def test_a_failing_mcp_tool_is_an_error_the_model_reads(client, mcp_url):
    response = client.responses.create(
        model=MODEL, input="break it", tools=[_mcp(mcp_url, require_approval="never")]
    )
    call = response.output[1]
    assert call.type == "mcp_call" and call.output is None and "no way" in call.error
    assert "no way" in response.output_text


def test_an_approval_request_waits_for_the_client(client, mcp_url, backend):
    tools = [_mcp(mcp_url, require_approval={"always": {"tool_names": ["add"]}})]
    first = client.responses.create(model=MODEL, input="add please", tools=tools)
    request = first.output[-1]
    assert first.status == "completed"
    assert request.type == "mcp_approval_request" and request.name == "add"
    calls_before = len(backend.requests)
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
        tools=tools,
    )
    call = second.output[0]  # the listing is reused from the first response
    assert call.type == "mcp_call" and call.approval_request_id == request.id and call.output == "5"
    assert second.output_text == "The tool said: 5"
    assert len(backend.requests) == calls_before + 1
    denied = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False}],
        tools=tools,
    )
    assert not [o for o in denied.output if o.type == "mcp_call"]


def test_mcp_bad_input_is_a_4xx(client, mcp_url):
    with pytest.raises(openai.BadRequestError) as unknown_type:
        client.responses.create(model=MODEL, input="x", tools=[{"type": "computer_use_preview"}])
    with pytest.raises(openai.BadRequestError) as auth_header:
        client.responses.create(
            model=MODEL, input="x", tools=[_mcp(mcp_url, headers={"Authorization": "Bearer secret"})]
        )
    assert unknown_type.value.body["param"].startswith("tools[0]")
    assert "secret" not in str(auth_header.value.body)


def test_file_search_over_a_faiss_store_with_minilm_embeddings_cites_the_file(client):
    documents = {
        "espresso.md": "Descale the espresso machine every month with citric acid, then rinse it twice.",
        "bananas.txt": "Bananas ripen faster next to apples because apples release ethylene gas.",
    }
    file_ids = {
        name: client.files.create(file=(name, text.encode()), purpose="assistants").id
        for name, text in documents.items()
    }
    store = client.vector_stores.create(name="kb", file_ids=list(file_ids.values()))
    deadline = time.monotonic() + 60
    while client.vector_stores.retrieve(store.id).file_counts.completed < len(documents):
        assert time.monotonic() < deadline, "the files were not ingested"
        time.sleep(0.2)
    response = client.responses.create(
        model=MODEL,
        input="How do I care for my espresso machine?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id], "max_num_results": 2}],
        include=["file_search_call.results"],
    )
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["how to descale the espresso machine"]
    assert search.results[0].filename == "espresso.md" and "citric acid" in search.results[0].text
    assert "citric acid" in message.content[0].text  # the model read the results
    cited = {a.file_id for a in message.content[0].annotations if a.type == "file_citation"}
    assert file_ids["espresso.md"] in cited
    with pytest.raises(openai.NotFoundError):
        client.responses.create(
            model=MODEL, input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}]
        )


def test_a_client_that_leaves_a_stream_stops_the_loop(client, backend):
    with client.responses.create(model=MODEL, input="a slow story", stream=True) as stream:
        events = iter(stream)
        first = next(events)
        while next(events).type != "response.output_text.delta":
            pass
    response_id = first.response.id
    deadline = time.monotonic() + 10
    while (stored := client.responses.retrieve(response_id)).status == "in_progress":
        assert time.monotonic() < deadline, "the response was never marked as stopped"
        time.sleep(0.1)
    assert stored.status == "cancelled"


# -- the real model ----------------------------------------------------------------------------


# `max_output_tokens` reaches llama.cpp's server (which reads only `max_tokens`) through the
# vLLM provider's `send_max_tokens`.
SHORT = 24


@pytest.fixture(scope="module")
def gemma(vllm_ogx) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=vllm_ogx.openai_base_url, api_key="none", max_retries=0, timeout=120
    ) as client:
        yield client


def test_a_real_model_answers_and_continues_a_conversation(gemma):
    first = gemma.responses.create(
        model="gemma", input="My name is Ada. Say hello to me.", temperature=0, max_output_tokens=SHORT
    )
    assert first.status in ("completed", "incomplete") and first.output_text.strip()
    assert first.usage.output_tokens <= SHORT
    second = gemma.responses.create(
        model="gemma",
        input="What is my name?",
        previous_response_id=first.id,
        max_output_tokens=SHORT,
        temperature=0,
    )
    assert second.output_text.strip() and second.usage.input_tokens > first.usage.input_tokens
    assert gemma.responses.retrieve(second.id).output_text == second.output_text


def test_a_real_model_streams_its_answer(gemma):
    events = list(
        gemma.responses.create(model="gemma", input="Count to five.", stream=True, max_output_tokens=SHORT)
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[0].type == "response.created" and events[-1].type in (
        "response.completed",
        "response.incomplete",
    )
    assert deltas and deltas == events[-1].response.output_text
