"""OpenAI chat ↔ Bedrock Converse translation, both directions (pure functions, no I/O)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from ogx_api import InvalidRequest, ProviderError
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
)
from ogx_api.inference.assembly import with_required_fields
from ogx_bedrock import translate
from ogx_bedrock.translate import StreamTranslator

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PNG = b"\x89PNG\r\n\x1a\n-fake-png-bytes"
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def converse(**fields: Any) -> dict[str, Any]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]} | fields
    return translate.converse_request(ChatCompletionRequest.model_validate(body))


def refused(**fields: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        converse(**fields)
    return caught.value


# -- request: messages -------------------------------------------------------------------------


def test_minimal_request() -> None:
    assert converse() == {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "Hi"}]}]}


def test_system_and_developer_messages_become_system_blocks_in_order() -> None:
    kwargs = converse(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": ""},
        ]
    )
    assert kwargs["system"] == [{"text": "Be brief."}, {"text": "Answer in French."}]
    assert kwargs["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]


def test_user_parts_text_image_audio_document() -> None:
    pdf = base64.b64encode(b"%PDF-1.7 fake").decode()
    wav = base64.b64encode(b"RIFF-fake-wav").decode()
    kwargs = converse(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "s3://my-bucket/cats/tabby.JPG"}},
                    {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": f"data:application/pdf;base64,{pdf}",
                            "filename": "Q3 report (final)_v2.pdf",
                        },
                    },
                ],
            }
        ]
    )
    assert kwargs["messages"][0]["content"] == [
        {"text": "Look:"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://my-bucket/cats/tabby.JPG"}}}},
        {"audio": {"format": "wav", "source": {"bytes": b"RIFF-fake-wav"}}},
        {
            "document": {
                "format": "pdf",
                "name": "Q3 report (final) v2",
                "source": {"bytes": b"%PDF-1.7 fake"},
            }
        },
    ]


@pytest.mark.parametrize(
    ("mime", "image_format"),
    [
        ("image/png", "png"),
        ("image/jpeg", "jpeg"),
        ("image/jpg", "jpeg"),
        ("image/gif", "gif"),
        ("image/webp", "webp"),
    ],
)
def test_image_formats(mime: str, image_format: str) -> None:
    block = translate.image_block(f"data:{mime};base64,{base64.b64encode(b'x').decode()}", "p")
    assert block == {"format": image_format, "source": {"bytes": b"x"}}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/cat.png", "not a web URL"),
        ("data:image/bmp;base64,eA==", "image type 'image/bmp' is not supported"),
        ("data:image/png,rawdata", "base64 data: URL"),
        ("data:image/png;base64,%%%notbase64", "not valid base64"),
        ("data:image/png;base64,", "empty content"),
        ("s3://bucket/picture.tiff", "must end in"),
    ],
)
def test_unusable_images_are_refused_with_the_parameter(url: str, message: str) -> None:
    error = refused(
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    )
    assert message in error.message
    assert error.param == "messages[0].content[0].image_url.url"


def test_documents_need_content_and_a_known_type() -> None:
    by_id = refused(messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}])
    assert "file_data" in by_id.message and by_id.param == "messages[0].content[0].file"
    zip_data = "data:application/zip;base64," + base64.b64encode(b"PK").decode()
    wrong_type = refused(
        messages=[{"role": "user", "content": [{"type": "file", "file": {"file_data": zip_data}}]}]
    )
    assert "application/zip" in wrong_type.message and "pdf" in wrong_type.message


def test_document_without_filename_gets_a_name() -> None:
    data = "data:text/csv;base64," + base64.b64encode(b"a,b").decode()
    kwargs = converse(messages=[{"role": "user", "content": [{"type": "file", "file": {"file_data": data}}]}])
    assert kwargs["messages"][0]["content"][0]["document"]["name"] == "document-0"


def test_tool_round_trip_history() -> None:
    kwargs = converse(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "Rain"}]},
            {"role": "user", "content": "Thanks!"},
        ],
        tools=[WEATHER],
    )
    assert kwargs["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {}}},
            ],
        },
        # consecutive tool results and the user's next words share one user turn
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "Sunny"}]}},
                {"toolResult": {"toolUseId": "call_2", "content": [{"text": "Rain"}]}},
                {"text": "Thanks!"},
            ],
        },
    ]


def test_consecutive_user_messages_are_merged() -> None:
    kwargs = converse(messages=[{"role": "user", "content": "One"}, {"role": "user", "content": "Two"}])
    assert kwargs["messages"] == [{"role": "user", "content": [{"text": "One"}, {"text": "Two"}]}]


def test_assistant_text_parts_and_refusal() -> None:
    kwargs = converse(
        messages=[
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "b"}, {"type": "refusal", "refusal": "no"}],
            },
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": None, "refusal": "I can't."},
            {"role": "user", "content": "d"},
        ]
    )
    assert kwargs["messages"][1]["content"] == [{"text": "b"}, {"text": "no"}]
    assert kwargs["messages"][3]["content"] == [{"text": "I can't."}]


@pytest.mark.parametrize("arguments", ["[1, 2]", "{not json"])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    error = refused(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}])
    assert error.param == "messages[1].tool_calls[0].function.arguments"


def test_function_role_is_refused() -> None:
    error = refused(
        messages=[{"role": "user", "content": "x"}, {"role": "function", "name": "f", "content": "y"}]
    )
    assert error.param == "messages[1]"


# -- request: tools ----------------------------------------------------------------------------


def test_tools_become_tool_specs() -> None:
    bare = {"type": "function", "function": {"name": "ping"}}
    strict = {"type": "function", "function": {"name": "s", "parameters": {"type": "object"}, "strict": True}}
    kwargs = converse(tools=[WEATHER, bare, strict])
    assert kwargs["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            },
            {"toolSpec": {"name": "ping", "inputSchema": {"json": {"type": "object", "properties": {}}}}},
            {"toolSpec": {"name": "s", "inputSchema": {"json": {"type": "object"}}, "strict": True}},
        ]
    }


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        (None, None),
        ("auto", None),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
    ],
)
def test_tool_choice(tool_choice: Any, expected: dict[str, Any] | None) -> None:
    fields: dict[str, Any] = {"tools": [WEATHER]}
    if tool_choice is not None:
        fields["tool_choice"] = tool_choice
    tool_config = converse(**fields)["toolConfig"]
    assert tool_config.get("toolChoice") == expected
    assert [tool["toolSpec"]["name"] for tool in tool_config["tools"]] == ["get_weather"]


def test_tool_choice_none_omits_the_tools() -> None:
    assert "toolConfig" not in converse(tools=[WEATHER], tool_choice="none")


def test_tool_choice_none_keeps_tools_a_conversation_already_used() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    kwargs = converse(
        messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        ],
        tools=[WEATHER],
        tool_choice="none",
    )
    assert [tool["toolSpec"]["name"] for tool in kwargs["toolConfig"]["tools"]] == ["get_weather"]
    assert kwargs["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {
        "json": WEATHER["function"]["parameters"]
    }
    assert "toolChoice" not in kwargs["toolConfig"]


def test_tools_used_in_history_are_declared_even_without_tools() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    kwargs = converse(
        messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "found"},
        ]
    )
    assert kwargs["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
        ]
    }


def test_allowed_tools_filter_the_tools() -> None:
    other = {"type": "function", "function": {"name": "other"}}
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "other"}}]},
    }
    tool_config = converse(tools=[WEATHER, other], tool_choice=choice)["toolConfig"]
    assert [tool["toolSpec"]["name"] for tool in tool_config["tools"]] == ["other"]
    assert tool_config["toolChoice"] == {"any": {}}
    choice["allowed_tools"]["mode"] = "auto"
    assert "toolChoice" not in converse(tools=[WEATHER, other], tool_choice=choice)["toolConfig"]
    choice["allowed_tools"]["tools"] = [{"type": "function", "function": {"name": "nope"}}]
    assert refused(tools=[WEATHER], tool_choice=choice).param == "tool_choice"


def test_named_tool_choice_must_name_an_offered_tool() -> None:
    error = refused(
        tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "no_such_function"}}
    )
    assert error.param == "tool_choice" and "no_such_function" in error.message


def test_custom_tools_are_refused() -> None:
    assert refused(tools=[{"type": "custom", "custom": {"name": "c"}}]).param == "tools[0]"


# -- request: parameters -----------------------------------------------------------------------


def test_inference_parameters() -> None:
    kwargs = converse(max_tokens=100, temperature=0.2, top_p=0.9, stop="END")
    assert kwargs["inferenceConfig"] == {
        "maxTokens": 100,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    kwargs = converse(max_tokens=100, max_completion_tokens=50, stop=["a", "b"])
    assert kwargs["inferenceConfig"] == {"maxTokens": 50, "stopSequences": ["a", "b"]}


def test_extra_fields_go_to_additional_model_request_fields_or_top_level() -> None:
    kwargs = converse(
        top_k=40,
        thinking={"type": "enabled", "budget_tokens": 1024},
        guardrailConfig={"guardrailIdentifier": "gr1", "guardrailVersion": "1"},
        requestMetadata={"team": "search"},
    )
    assert kwargs["additionalModelRequestFields"] == {
        "top_k": 40,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    assert kwargs["guardrailConfig"] == {"guardrailIdentifier": "gr1", "guardrailVersion": "1"}
    assert kwargs["requestMetadata"] == {"team": "search"}


def test_ignorable_parameters_are_dropped() -> None:
    kwargs = converse(
        seed=1, user="u", store=False, parallel_tool_calls=True, frequency_penalty=0, presence_penalty=0, n=1
    )
    assert set(kwargs) == {"modelId", "messages"}


@pytest.mark.parametrize(
    ("tier", "expected"), [("priority", {"type": "priority"}), ("flex", {"type": "flex"}), ("auto", None)]
)
def test_service_tier(tier: str, expected: dict[str, str] | None) -> None:
    assert converse(service_tier=tier).get("serviceTier") == expected


def test_json_schema_response_format_becomes_output_config() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    kwargs = converse(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "reply", "description": "d", "schema": schema},
        }
    )
    json_schema = kwargs["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert kwargs["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert json.loads(json_schema["schema"]) == schema
    assert json_schema["name"] == "reply" and json_schema["description"] == "d"
    assert "outputConfig" not in converse(response_format={"type": "text"})
    assert refused(response_format={"type": "json_object"}).param == "response_format"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logit_bias": {"1": 5}}, "logit_bias"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"audio": {"voice": "x"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
    ],
)
def test_parameters_without_a_converse_equivalent_are_refused(fields: dict[str, Any], param: str) -> None:
    error = refused(**fields)
    assert error.param == param and "Bedrock" in error.message


# -- response ----------------------------------------------------------------------------------

_CHAT = TypeAdapter(ChatCompletion)
_CHUNK = TypeAdapter(ChatCompletionChunk)
_COMPLETION = TypeAdapter(Completion)


def converse_response(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15} | usage,
        "metrics": {"latencyMs": 100},
    }


def completion_of(response: dict[str, Any]) -> ChatCompletion:
    result = translate.chat_completion(response, model=MODEL, completion_id="chatcmpl-1", created=1700000000)
    _CHAT.validate_python(
        with_required_fields(copy.deepcopy(result)), strict=True
    )  # the router fills the rest
    return result


def test_text_response() -> None:
    result = completion_of(converse_response([{"text": "Hello "}, {"text": "there"}]))
    assert result == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def test_tool_use_response() -> None:
    result = completion_of(
        converse_response(
            [
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "tooluse_2", "name": "get_time", "input": {}}},
            ],
            stop="tool_use",
        )
    )
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check."
    assert choice["message"].get("tool_calls") == [
        {
            "id": "tooluse_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "tooluse_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ]


def test_tool_only_response_has_null_content_and_reasoning_is_kept() -> None:
    result = completion_of(
        converse_response(
            [
                {"reasoningContent": {"reasoningText": {"text": "Need weather.", "signature": "x"}}},
                {"toolUse": {"toolUseId": "t", "name": "f", "input": {}}},
            ],
            stop="tool_use",
        )
    )
    message = result["choices"][0]["message"]
    assert message["content"] is None
    assert message.get("reasoning_content") == "Need weather."


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_model_output", "stop"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    assert (
        completion_of(converse_response([{"text": "x"}], stop=stop))["choices"][0]["finish_reason"] == finish
    )


def test_usage_counts_cached_prompt_tokens() -> None:
    usage = translate.usage(
        {
            "inputTokens": 10,
            "outputTokens": 5,
            "totalTokens": 135,
            "cacheReadInputTokens": 100,
            "cacheWriteInputTokens": 20,
        }
    )
    assert usage == {
        "prompt_tokens": 130,
        "completion_tokens": 5,
        "total_tokens": 135,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    assert translate.usage(None) == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def test_response_without_message_is_a_provider_error() -> None:
    with pytest.raises(ProviderError):
        translate.chat_completion({"output": {}}, model=MODEL, completion_id="c", created=0)


# -- stream ------------------------------------------------------------------------------------


def feed_all(events: list[dict[str, Any]], include_usage: bool = False) -> list[ChatCompletionChunk]:
    translator = StreamTranslator(
        model=MODEL, completion_id="chatcmpl-s", created=1, include_usage=include_usage
    )
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    translator.finish()
    for chunk in chunks:
        _CHUNK.validate_python(chunk, strict=True)
    return chunks


def deltas(chunks: list[ChatCompletionChunk]) -> list[Any]:
    return [
        (c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) if c["choices"] else c.get("usage")
        for c in chunks
    ]


METADATA = {
    "metadata": {
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 1},
    }
}


def test_stream_of_text_with_usage() -> None:
    chunks = feed_all(
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hel"}}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "lo"}}},
            {"contentBlockStop": {"contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "max_tokens"}},
            METADATA,
        ],
        include_usage=True,
    )
    assert deltas(chunks) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hel"}, None),
        ({"content": "lo"}, None),
        ({}, "length"),
        {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    ]
    assert {chunk["id"] for chunk in chunks} == {"chatcmpl-s"}
    assert chunks[-1]["choices"] == []


def test_stream_without_include_usage_drops_the_metadata() -> None:
    chunks = feed_all(
        [{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "end_turn"}}, METADATA]
    )
    assert deltas(chunks) == [({"role": "assistant", "content": ""}, None), ({}, "stop")]


def test_stream_of_tool_calls_streams_their_arguments() -> None:
    chunks = feed_all(
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Checking."}}},
            {"contentBlockStop": {"contentBlockIndex": 0}},
            {
                "contentBlockStart": {
                    "contentBlockIndex": 1,
                    "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}},
                }
            },
            {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city"'}}}},
            {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ': "Paris"}'}}}},
            {"contentBlockStop": {"contentBlockIndex": 1}},
            {
                "contentBlockStart": {
                    "contentBlockIndex": 2,
                    "start": {"toolUse": {"toolUseId": "t2", "name": "get_time"}},
                }
            },
            {"contentBlockDelta": {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{}"}}}},
            {"contentBlockStop": {"contentBlockIndex": 2}},
            {"messageStop": {"stopReason": "tool_use"}},
        ]
    )
    assert deltas(chunks) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Checking."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": ': "Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "t2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, None),
        ({}, "tool_calls"),
    ]


def test_stream_reasoning_deltas_and_unknown_events() -> None:
    chunks = feed_all(
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hmm."}}}},
            {
                "contentBlockDelta": {
                    "contentBlockIndex": 0,
                    "delta": {"reasoningContent": {"signature": "sig"}},
                }
            },
            {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"citation": {"title": "t"}}}},
            {"contentBlockStart": {"contentBlockIndex": 1, "start": {"image": {"format": "png"}}}},
            {"somethingNew": {}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    )
    assert deltas(chunks) == [
        ({"role": "assistant", "content": ""}, None),
        ({"reasoning_content": "Hmm."}, None),
        ({}, "stop"),
    ]


def test_stream_without_message_start_still_opens_with_the_role() -> None:
    chunks = feed_all(
        [
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "x"}}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    )
    assert deltas(chunks)[:2] == [({"role": "assistant", "content": ""}, None), ({"content": "x"}, None)]


def test_stream_cut_before_message_stop_is_a_provider_error() -> None:
    translator = StreamTranslator(model=MODEL, completion_id="c", created=0)
    translator.feed({"messageStart": {"role": "assistant"}})
    with pytest.raises(ProviderError, match="before messageStop"):
        translator.finish()


# -- legacy completions ------------------------------------------------------------------------


def test_completion_prompt_becomes_one_user_message() -> None:
    chat = translate.chat_request_for_completion(
        CompletionRequest.model_validate(
            {
                "model": MODEL,
                "prompt": ["Once upon"],
                "max_tokens": 5,
                "temperature": 0,
                "stop": ".",
                "top_k": 3,
            }
        )
    )
    kwargs = translate.converse_request(chat)
    assert kwargs["messages"] == [{"role": "user", "content": [{"text": "Once upon"}]}]
    assert kwargs["inferenceConfig"] == {"maxTokens": 5, "temperature": 0, "stopSequences": ["."]}
    assert kwargs["additionalModelRequestFields"] == {"top_k": 3}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"echo": True}, "echo"),
        ({"suffix": "x"}, "suffix"),
        ({"logprobs": 1}, "logprobs"),
        ({"best_of": 2}, "best_of"),
        ({"n": 2}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
    ],
)
def test_completion_parameters_bedrock_cannot_serve(fields: dict[str, Any], param: str) -> None:
    request = CompletionRequest.model_validate({"model": MODEL, "prompt": "x"} | fields)
    with pytest.raises(InvalidRequest) as caught:
        translate.chat_request_for_completion(request)
    assert caught.value.param == param


def test_completion_from_chat_and_chunks() -> None:
    chat = completion_of(converse_response([{"text": "the end"}], stop="guardrail_intervened"))
    completion = translate.completion_from_chat(chat)
    _COMPLETION.validate_python(completion, strict=True)
    assert completion["choices"] == [
        {"index": 0, "text": "the end", "finish_reason": "content_filter", "logprobs": None}
    ]
    assert completion.get("usage") == chat.get("usage")

    chunks = feed_all(
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "a"}}},
            {"messageStop": {"stopReason": "tool_use"}},
            METADATA,
        ],
        include_usage=True,
    )
    converted = [translate.completion_chunk(chunk) for chunk in chunks]
    assert converted[0] is None  # the role-only chunk carries nothing for completions
    for item in converted[1:]:
        _COMPLETION.validate_python(item, strict=True)
    assert [c["choices"] for c in converted[1:]] == [  # type: ignore[index]
        [{"index": 0, "text": "a", "finish_reason": None, "logprobs": None}],
        [{"index": 0, "text": "", "finish_reason": "stop", "logprobs": None}],
        [],
    ]
    assert converted[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}  # type: ignore[index]
