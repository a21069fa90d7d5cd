"""The parts of OpenAI's Responses API that OGX parses but does not run (hosted tools, their
calls sent back as input, prompt templates, context management): each is a 400 in the OpenAI
envelope naming the kind and the param, before the model is called. Earlier output items OGX
does produce (reasoning, MCP listings) are accepted back as they are sent."""

from __future__ import annotations

import pytest

from ogx_api.testing.scripted import ScriptedBackend

MODEL = "scripted/scripted"
USER = {"role": "user", "content": "hi"}


@pytest.fixture
def backend():
    with ScriptedBackend([]) as server:
        yield server


REFUSED = [
    ({"tools": [{"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "browser"}]}, "tools[0]", "computer_use_preview"),
    ({"tools": [{"type": "web_search", "search_context_size": "low", "user_location": {"type": "approximate", "city": "Paris"}}]}, "tools[0]", "web_search"),
    ({"tools": [{"type": "function", "name": "f"}, {"type": "code_interpreter", "container": {"type": "auto"}}]}, "tools[1]", "code_interpreter"),
    ({"tools": [{"type": "image_generation", "size": "1024x1024"}]}, "tools[0]", "image_generation"),
    ({"tools": [{"type": "shell", "environment": {"type": "local"}}]}, "tools[0]", "shell"),
    ({"tools": [{"type": "local_shell"}]}, "tools[0]", "local_shell"),
    ({"tools": [{"type": "apply_patch"}]}, "tools[0]", "apply_patch"),
    ({"tools": [{"type": "custom", "name": "sql", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}]}, "tools[0]", "custom"),
    ({"tools": [{"type": "function", "name": "f", "defer_loading": True}]}, "tools[0].defer_loading", "tool search"),
    ({"tool_choice": {"type": "web_search_preview"}}, "tool_choice", "web_search_preview"),
    ({"tool_choice": {"type": "shell"}}, "tool_choice", "shell"),
    ({"tool_choice": {"type": "custom", "name": "sql"}}, "tool_choice", "custom"),
    ({"prompt": {"id": "pmpt_1", "variables": {"city": "Paris"}}}, "prompt", "prompt templates"),
    ({"context_management": [{"type": "compaction", "compact_threshold": 1000}]}, "context_management", "context management"),
    ({"input": [USER, {"type": "computer_call", "id": "cu_1", "call_id": "c1", "status": "completed", "pending_safety_checks": [], "action": {"type": "click", "button": "left", "x": 1, "y": 2}}]}, "input[1]", "computer_call"),
    ({"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}}, USER]}, "input[0]", "web_search_call"),
    ({"input": [USER, {"type": "custom_tool_call_output", "call_id": "c1", "output": "done"}]}, "input[1]", "custom_tool_call_output"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "param", "named"), REFUSED, ids=[r[2] for r in REFUSED])
async def test_what_ogx_cannot_run_is_a_400_naming_it(backend, serve_scripted, extra, param, named):
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post("/v1/responses", json={"model": MODEL, "input": "hello", **extra})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert named in error["message"] and "not supported" in error["message"]
    assert not backend.requests


async def test_a_request_without_model_is_a_400(backend, serve_scripted):
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post("/v1/responses", json={"input": "hello"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "model"


async def test_compact_refuses_items_of_tools_ogx_does_not_run(backend, serve_scripted):
    item = {"type": "local_shell_call", "id": "ls_1", "call_id": "c1", "status": "completed",
            "action": {"type": "exec", "command": ["ls"], "env": {}}}  # fmt: skip
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post("/v1/responses/compact", json={"model": MODEL, "input": [USER, item]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "input[1]" and "local_shell_call" in answer.text


async def test_earlier_output_items_are_accepted_back_and_listed(backend, serve_scripted, open_responses):
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}],
                 "content": [{"type": "reasoning_text", "text": "six times seven"}], "status": "completed"}  # fmt: skip
    listing = {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "calc",
               "tools": [{"name": "add", "input_schema": {"type": "object"}}]}  # fmt: skip
    assistant = {"type": "message", "role": "assistant", "phase": "final_answer",
                 "content": [{"type": "output_text", "text": "42", "annotations": [
                     {"type": "url_citation", "url": "https://x.test", "start_index": 0, "end_index": 2, "title": "x"}]}]}  # fmt: skip
    async with serve_scripted(backend) as (_, http, _):
        answer = await http.post(
            "/v1/responses", json={"model": MODEL, "input": [USER, reasoning, listing, assistant, USER]}
        )
        assert answer.status_code == 200, answer.text
        items = (await http.get(f"/v1/responses/{answer.json()['id']}/input_items?order=asc")).json()["data"]
    assert [i["type"] for i in items] == ["message", "reasoning", "mcp_list_tools", "message", "message"]
    assert items[1]["summary"] == [{"type": "summary_text", "text": "think"}]
    assert [m["role"] for m in backend.requests[-1]["messages"]] == ["user", "assistant", "user"]
    open_responses("ResponseResource", answer.json())


def test_the_generated_kinds_match_the_spec(tmp_path):
    """`ogx/responses/kinds/` is what `scripts/gen_response_kinds.py` makes of OpenAI's spec today."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = root.parent / "shared" / "specs" / "openai-spec-2.3.0.yml"
    if not spec.exists():
        pytest.skip(f"OpenAI's spec is not at {spec}")
    loader = importlib.util.spec_from_file_location(
        "gen_response_kinds", root / "scripts" / "gen_response_kinds.py"
    )
    assert loader is not None and loader.loader is not None
    generator = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(generator)
    generator.main(["--spec", str(spec), "--out", str(tmp_path / "kinds")])
    made = {path.name: path.read_text() for path in (tmp_path / "kinds").glob("*.py")}
    assert made == {path.name: path.read_text() for path in generator.OUT.glob("*.py")}
