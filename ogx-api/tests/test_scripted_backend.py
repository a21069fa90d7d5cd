"""The scripted OpenAI-compatible backend of `ogx_api.testing.scripted`, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall, rules_from_json

RULES = [
    Rule(
        tool="lookup",
        last_role="user",
        reply=Reply(tool_calls=[ToolCall("lookup", {"q": "x"}), ToolCall("lookup", "{}")]),
    ),
    Rule(last_role="tool", reply=Reply(text=lambda r: f"got {r['messages'][-1]['content']}")),
    Rule(contains="think", reply=Reply(reasoning="hmm ok", text="answer")),
    Rule(contains="fail", reply=Reply(status=429, error="slow down")),
    Rule(model="other", reply=Reply(text="from other")),
]


@pytest.fixture(scope="module")
def backend():
    with ScriptedBackend(RULES, models=["a", "b"]) as backend:
        yield backend


def chat(backend, **body):
    body = {"model": "a", "messages": [{"role": "user", "content": "hello world"}], **body}
    return httpx.post(f"{backend.base_url}/chat/completions", json=body, timeout=10)


def stream(backend, **body):
    response = chat(backend, stream=True, **body)
    assert response.headers["content-type"] == "text/event-stream"
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_models_are_listed(backend):
    assert [m["id"] for m in httpx.get(f"{backend.base_url}/models").json()["data"]] == ["a", "b"]


def test_default_reply_echoes_and_counts_words(backend):
    body = chat(backend).json()
    choice = body["choices"][0]
    assert choice["message"]["content"] == "echo: hello world"
    assert choice["finish_reason"] == "stop" and choice["stop_reason"] is None
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert backend.requests[-1]["messages"][0]["content"] == "hello world"


def test_rules_match_in_order_on_tools_role_text_and_model(backend):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    calls = chat(backend, tools=tools).json()["choices"][0]
    assert calls["finish_reason"] == "tool_calls"
    assert [c["function"]["arguments"] for c in calls["message"]["tool_calls"]] == ['{"q": "x"}', "{}"]
    number = len(backend.requests)
    assert [c["id"] for c in calls["message"]["tool_calls"]] == [f"call_{number}_0", f"call_{number}_1"]
    tool_turn = [{"role": "tool", "tool_call_id": "c", "content": "42"}]
    assert chat(backend, messages=tool_turn).json()["choices"][0]["message"]["content"] == "got 42"
    assert chat(backend, model="other").json()["choices"][0]["message"]["content"] == "from other"


def test_max_tokens_and_stop_cut_the_text(backend):
    cut = chat(backend, max_tokens=1).json()["choices"][0]
    assert (cut["message"]["content"], cut["finish_reason"]) == ("echo:", "length")
    stopped = chat(backend, stop=["world", "hello"]).json()["choices"][0]
    assert stopped["message"]["content"] == "echo: "
    assert (stopped["finish_reason"], stopped["stop_reason"]) == ("stop", "hello"), "the earliest match"


def test_error_reply(backend):
    response = chat(backend, messages=[{"role": "user", "content": "please fail"}])
    assert response.status_code == 429
    assert response.json()["error"]["message"] == "slow down"


def test_streaming_text_reasoning_and_usage(backend):
    chunks = stream(
        backend, messages=[{"role": "user", "content": "think"}], stream_options={"include_usage": True}
    )
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "hmm ok"
    assert "".join(d.get("content") or "" for d in deltas) == "answer"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


def test_streaming_tool_calls_send_id_and_name_then_arguments(backend):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    chunks = stream(backend, tools=tools)
    calls = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls") or []]
    assert calls[0]["id"] and calls[0]["function"] == {"name": "lookup", "arguments": ""}
    arguments = "".join(c["function"]["arguments"] for c in calls if c["index"] == 0)
    assert json.loads(arguments) == {"q": "x"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_rules_from_json():
    (rule,) = rules_from_json(
        [{"contains": "hi", "reply": {"tool_calls": [{"name": "f", "arguments": {"a": 1}}]}}]
    )
    assert rule.contains == "hi" and rule.reply.tool_calls[0].arguments == {"a": 1}
    assert rule.matches({"messages": [{"role": "user", "content": "oh hi"}]})
    assert not rule.matches({"messages": [{"role": "user", "content": "bye"}]})
