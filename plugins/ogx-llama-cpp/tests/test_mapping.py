"""Requests map to llama-cpp-python arguments, and its answers and failures map back, correctly
(offline: no model is loaded)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from ogx_api import InvalidRequest, ProviderError
from ogx_api.inference import ChatCompletionRequest, CompletionRequest
from ogx_llama_cpp import mapping
from ogx_llama_cpp.config import LlamaCppConfig

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}


def chat(**fields: Any) -> ChatCompletionRequest:
    body = {"model": "gemma3-270m", "messages": [{"role": "user", "content": "Hi"}]} | fields
    return ChatCompletionRequest.model_validate(body)


# -- config ------------------------------------------------------------------------------


def test_config_defaults_serve_the_packaged_gemma() -> None:
    config = LlamaCppConfig()
    assert config.model_path is None
    assert config.model_alias == "gemma3-270m"
    assert config.chat_format == "gemma"
    assert 2048 <= config.n_ctx <= 4096
    assert config.embedding is False
    assert config.embedding_model_alias == "gemma3-270m-embed"


@pytest.mark.parametrize("field", [{"max_queue": 0}, {"n_ctx": 16}, {"n_threads": 0}, {"modle_path": "x"}])
def test_config_rejects_bad_values_naming_the_field(field: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        LlamaCppConfig.model_validate(field)
    assert next(iter(field)) in str(caught.value)


# -- messages ----------------------------------------------------------------------------


def messages(*items: dict[str, Any]) -> list[Any]:
    return chat(messages=list(items)).messages


def test_system_text_heads_the_first_user_turn_for_gemma() -> None:
    turns = mapping.chat_messages(
        messages(
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            {"role": "user", "content": "Hi"},
        ),
        system_role=False,
    )
    assert turns == [{"role": "user", "content": "Be brief.\n\nUse French.\n\nHi"}]


def test_system_turn_is_kept_for_formats_that_have_one() -> None:
    turns = mapping.chat_messages(
        messages({"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}),
        system_role=True,
        instructions="Call get_weather.",
    )
    assert turns == [
        {"role": "system", "content": "Be brief.\n\nCall get_weather."},
        {"role": "user", "content": "Hi"},
    ]


def test_tool_calls_and_results_are_written_out_as_turns() -> None:
    turns = mapping.chat_messages(
        messages(
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "18 °C"},
            {"role": "user", "content": "Thanks. And tomorrow?"},
        ),
        system_role=False,
    )
    assert turns == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": '{"name": "get_weather", "arguments": {"city": "Paris"}}'},
        {"role": "user", "content": "Result of get_weather:\n18 °C\n\nThanks. And tomorrow?"},
    ]


def test_image_content_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidRequest) as caught:
        mapping.chat_messages(
            messages(
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    ],
                }
            )
        )
    assert caught.value.param == "messages[0].content[1]"


# -- tools -------------------------------------------------------------------------------


def test_auto_hands_the_tools_to_the_chat_handler() -> None:
    plan = mapping.plan_tools(chat(tools=[WEATHER]))
    assert plan.forced == ()
    assert plan.handler_tools == [WEATHER]


def test_none_drops_the_tools() -> None:
    assert mapping.plan_tools(chat(tools=[WEATHER], tool_choice="none")) == mapping.ToolPlan()


def test_named_choice_forces_that_function() -> None:
    plan = mapping.plan_tools(
        chat(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}})
    )
    assert [f.name for f in plan.forced] == ["get_time"]


def test_required_forces_one_of_all_functions() -> None:
    plan = mapping.plan_tools(chat(tools=[WEATHER, TIME], tool_choice="required"))
    assert [f.name for f in plan.forced] == ["get_weather", "get_time"]


def test_allowed_tools_restricts_the_choice() -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "get_time"}}],
        },
    }
    plan = mapping.plan_tools(chat(tools=[WEATHER, TIME], tool_choice=choice))
    assert [f.name for f in plan.forced] == ["get_time"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"functions": [{"name": "f"}]}, "functions"),
    ],
)
def test_impossible_tool_requests_are_invalid(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        mapping.plan_tools(chat(**fields))
    assert caught.value.param == param
    assert caught.value.status_code == 400


def test_grammar_for_one_function_is_its_arguments_and_compiles() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    functions = chat(tools=[WEATHER]).tools
    grammar = mapping.tool_call_grammar((functions[0].function,))  # type: ignore[union-attr]
    assert "root ::= call-0-arguments" in grammar
    assert "call-0-arguments-city-kv" in grammar
    LlamaGrammar.from_string(grammar, verbose=False)


def test_grammar_for_several_functions_prefixes_the_name_and_compiles() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    tools = chat(tools=[WEATHER, TIME]).tools
    grammar = mapping.tool_call_grammar(tuple(t.function for t in tools))  # type: ignore[union-attr]
    assert 'root ::= "get_weather " call-0-arguments | "get_time " call-1-arguments' in grammar
    LlamaGrammar.from_string(grammar, verbose=False)


def test_forced_call_of_one_function_streams_its_arguments() -> None:
    call = mapping.ForcedToolCall(("get_weather",))
    first = call.feed('{"city"')
    assert first == [
        {
            "index": 0,
            "id": call.id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city"'},
        }
    ]
    assert call.feed(': "Paris"} ') == [{"index": 0, "function": {"arguments": ': "Paris"} '}}]
    assert call.call() == {
        "id": call.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }


def test_forced_call_among_several_waits_for_the_name() -> None:
    call = mapping.ForcedToolCall(("get_weather", "get_time"))
    assert call.feed("get_") == []
    assert call.call() is None
    deltas: Any = call.feed('time {"tz"')
    assert deltas[0]["function"] == {"name": "get_time", "arguments": '{"tz"'}
    call.feed(': "UTC"}')
    assert json.loads(call.call()["function"]["arguments"]) == {"tz": "UTC"}  # type: ignore[index]


# -- sampling and formats ----------------------------------------------------------------


def test_openai_defaults_and_llama_cpp_extras() -> None:
    options = mapping.sampling_options(chat(top_k=5, min_p=0.1, stop="END", logit_bias={"42": -100}))
    assert options == {
        "temperature": 1.0,
        "top_p": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "seed": None,
        "stop": ["END"],
        "logit_bias": {42: -100.0},
        "top_k": 5,
        "min_p": 0.1,
    }


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"top_k": "many"}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"logit_bias": {"a": 1}}, "logit_bias"),
    ],
)
def test_unsupported_sampling_is_invalid(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        mapping.sampling_options(chat(**fields))
    assert caught.value.param == param


def test_completion_requests_share_the_sampling_mapping() -> None:
    request = CompletionRequest(model="m", prompt="x", temperature=0, seed=7)
    assert mapping.sampling_options(request)["temperature"] == 0
    assert mapping.sampling_options(request)["seed"] == 7


def test_json_response_formats_become_grammars() -> None:
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    grammar = mapping.response_format_grammar(
        chat(response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
    )
    assert grammar is not None and "answer" in grammar
    LlamaGrammar.from_string(grammar, verbose=False)
    assert mapping.response_format_grammar(chat(response_format={"type": "json_object"})) == JSON_GBNF
    assert mapping.response_format_grammar(chat(response_format={"type": "text"})) is None
    assert mapping.response_format_grammar(chat()) is None


def test_a_schema_llama_cpp_cannot_compile_is_invalid() -> None:
    schema = {"$ref": "https://example.com/schema.json"}
    with pytest.raises(InvalidRequest) as caught:
        mapping.response_format_grammar(
            chat(response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
        )
    assert caught.value.param == "response_format.json_schema.schema"


def test_logprobs_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        mapping.reject_logprobs(True)
    assert caught.value.param == "logprobs"
    mapping.reject_logprobs(False)


# -- errors ------------------------------------------------------------------------------


def test_context_overflow_is_a_400_naming_both_sizes() -> None:
    error = mapping.error_for(
        ValueError("Requested tokens (5000) exceed context window of 4096"), param="messages"
    )
    assert isinstance(error, InvalidRequest)
    assert error.status_code == 400
    assert error.code == "context_length_exceeded"
    assert "5000" in error.message and "4096" in error.message
    assert error.param == "messages"


def test_other_llama_cpp_failures_are_provider_errors() -> None:
    error = mapping.error_for(RuntimeError("llama_decode returned -1"), param="messages")
    assert isinstance(error, ProviderError)
    assert error.status_code == 502
    assert "llama_decode returned -1" in error.message
