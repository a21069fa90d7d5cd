"""Every request property of Anthropic's spec that OGX documents is handled: translated, or
accepted where ignoring it keeps its meaning, or refused with a 400 that says why. In-process."""

from __future__ import annotations

import pytest

from ogx.anthropic.models import CreateMessageRequest
from ogx.anthropic.stream import MessageStream
from ogx.anthropic.translate import thinking_omitted, to_chat_request, to_message
from ogx_api import InvalidRequest

CITATION = {
    "type": "char_location",
    "cited_text": "Paris",
    "document_index": 0,
    "document_title": None,
    "start_char_index": 0,
    "end_char_index": 5,
}
CACHE = {"type": "ephemeral", "ttl": "1h"}
TOOL = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}


def body(**fields) -> CreateMessageRequest:
    return CreateMessageRequest.model_validate({"model": "m", "max_tokens": 64, **fields})


def chat(**fields):
    return to_chat_request(body(**fields)).backend_payload()


def refusal(**fields) -> str:
    with pytest.raises(InvalidRequest) as caught:
        chat(**fields)
    return caught.value.message


def test_history_citations_cache_control_and_request_options_are_accepted():
    payload = chat(
        system=[{"type": "text", "text": "Be brief.", "cache_control": CACHE, "citations": [CITATION]}],
        messages=[
            {"role": "user", "content": "Capital of France?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Paris.", "citations": [CITATION], "cache_control": CACHE}
                ],
            },
            {"role": "user", "content": "Thanks"},
        ],
        cache_control={"type": "ephemeral"},
        inference_geo="us",
        service_tier="standard_only",
    )
    assert [m["content"] for m in payload["messages"]] == [
        "Be brief.",
        "Capital of France?",
        "Paris.",
        "Thanks",
    ]


def test_bad_cache_control_is_refused_by_validation():
    with pytest.raises(ValueError, match="ttl"):
        body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}
                    ],
                }
            ]
        )


def test_search_results_become_text_in_user_turns_and_tool_results():
    result = {
        "type": "search_result",
        "source": "https://example.com/a",
        "title": "A",
        "content": [{"type": "text", "text": "Alpha."}],
        "citations": {"enabled": True},
    }
    payload = chat(
        messages=[
            {"role": "user", "content": [result]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [result]}]},
        ],
        tools=[TOOL],
    )
    expected = "Search result: A\nSource: https://example.com/a\n\nAlpha."
    assert payload["messages"][0] == {"role": "user", "content": expected}
    assert payload["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": expected}


def test_custom_tool_options_strict_and_input_examples_reach_the_function():
    payload = chat(
        messages=[{"role": "user", "content": "x"}],
        tools=[
            {
                **TOOL,
                "description": "Look something up.",
                "strict": True,
                "eager_input_streaming": True,
                "cache_control": CACHE,
                "allowed_callers": ["direct"],
                "defer_loading": False,
                "input_examples": [{"q": "weather"}],
            }
        ],
    )
    function = payload["tools"][0]["function"]
    assert function["strict"] is True
    assert function["description"] == 'Look something up.\n\nExamples of input:\n{"q":"weather"}'
    assert function["parameters"] == {"type": "object", "properties": {"q": {"type": "string"}}}


@pytest.mark.parametrize(
    ("tool", "needle"),
    [
        (
            {**TOOL, "defer_loading": True},
            "tools.0.defer_loading: deferred tools are loaded by Anthropic's tool search",
        ),
        ({**TOOL, "allowed_callers": ["code_execution_20250825"]}, "tools.0.allowed_callers"),
        (
            {"type": "code_execution_20250825", "name": "code_execution"},
            "'code_execution_20250825' is not available",
        ),
        ({"type": "web_fetch_20260309", "name": "web_fetch", "use_cache": False}, "'web_fetch_20260309'"),
        ({"type": "tool_search_tool_bm25", "name": "tool_search_tool_bm25"}, "'tool_search_tool_bm25'"),
    ],
)
def test_what_only_anthropic_servers_run_is_a_clear_400(tool, needle):
    assert needle in refusal(messages=[{"role": "user", "content": "x"}], tools=[tool])


@pytest.mark.parametrize(
    ("tool", "name", "commands"),
    [
        ({"type": "bash_20250124", "name": "bash"}, "bash", None),
        ({"type": "text_editor_20250124", "name": "str_replace_editor"}, "str_replace_editor", "undo_edit"),
        (
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool", "max_characters": 500},
            "str_replace_based_edit_tool",
            "str_replace",
        ),
        ({"type": "memory_20250818", "name": "memory"}, "memory", "rename"),
    ],
)
def test_client_executed_anthropic_tools_become_function_tools_with_their_schema(tool, name, commands):
    payload = chat(
        messages=[{"role": "user", "content": "x"}], tools=[tool], tool_choice={"type": "tool", "name": name}
    )
    function = payload["tools"][0]["function"]
    assert function["name"] == name and function["parameters"]["type"] == "object"
    if commands:
        assert commands in function["parameters"]["properties"]["command"]["enum"]
    if "max_characters" in tool:
        assert "at most 500 characters" in function["description"]
    assert payload["tool_choice"] == {"type": "function", "function": {"name": name}}


def test_a_tool_use_called_from_code_execution_is_still_a_tool_call():
    payload = chat(
        messages=[
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "lookup",
                        "input": {"q": "a"},
                        "caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_1"},
                    }
                ],
            },
        ],
        tools=[TOOL],
    )
    assert payload["messages"][1]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q":"a"}'}


@pytest.mark.parametrize(
    "block",
    [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"},
        },
        {
            "type": "code_execution_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": {
                "type": "code_execution_result",
                "content": [],
                "return_code": 0,
                "stderr": "",
                "stdout": "4",
            },
        },
    ],
)
def test_server_tool_history_is_valid_input_but_refused_by_the_translation(block):
    message = refusal(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "content": [block]}])
    assert f"messages.1.content.0: content blocks of type {block['type']!r}" in message
    assert "Anthropic's server tools" in message


def test_tool_references_and_containers_are_refused():
    reference = {"type": "tool_reference", "tool_name": "lookup"}
    message = refusal(
        messages=[
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [reference]}],
            },
        ],
        tools=[TOOL],
    )
    assert "tool search" in message
    assert "container:" in refusal(messages=[{"role": "user", "content": "x"}], container="container_1")


def test_thinking_display_omitted_keeps_the_block_without_its_text():
    request = body(
        messages=[{"role": "user", "content": "x"}],
        thinking={"type": "enabled", "budget_tokens": 2048, "display": "omitted"},
    )
    assert thinking_omitted(request)
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2"},
                "finish_reason": "stop",
            }
        ],
    }
    message = to_message(completion, None, omit_thinking=True)
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": ""}
    state = MessageStream("m", omit_thinking=True)
    events = state.feed({"choices": [{"index": 0, "delta": {"reasoning_content": "2+2"}}]})
    assert [e["type"] for e in events] == ["content_block_start"], "no thinking text is streamed"


def test_an_unknown_tool_type_is_kept_for_native_backends_and_refused_by_the_translation():
    request = body(
        messages=[{"role": "user", "content": "x"}], tools=[{"type": "shiny_20270101", "name": "shiny"}]
    )
    assert request.tools[0].type == "shiny_20270101"
    with pytest.raises(InvalidRequest, match="the tool type 'shiny_20270101' is unknown"):
        to_chat_request(request)
