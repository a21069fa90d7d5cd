"""Anthropic Messages ⇄ chat completions, both ways, in-process (no server)."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from ogx.anthropic.models import CountTokensRequest, CreateMessageRequest
from ogx.anthropic.translate import pdf_text, stop_reason, to_chat_request, to_message, usage
from ogx_api import InvalidRequest

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()


def chat(**body):
    request = CreateMessageRequest.model_validate({"model": "m", "max_tokens": 64, **body})
    return to_chat_request(request).backend_payload()


def test_minimal_request_maps_model_messages_and_max_tokens_only():
    payload = chat(messages=[{"role": "user", "content": "Hi"}])
    assert payload == {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


def test_system_string_and_blocks_become_one_system_message():
    as_string = chat(system="Be brief.", messages=[{"role": "user", "content": "Hi"}])
    as_blocks = chat(
        system=[
            {"type": "text", "text": "Be brief."},
            {"type": "text", "text": "Be kind.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[{"role": "user", "content": "Hi"}],
    )
    assert as_string["messages"][0] == {"role": "system", "content": "Be brief."}
    assert as_blocks["messages"][0] == {"role": "system", "content": "Be brief.\nBe kind."}


def test_sampling_parameters_metadata_and_stream_options():
    payload = chat(
        messages=[{"role": "user", "content": "Hi"}],
        stop_sequences=["END", "STOP"],
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        metadata={"user_id": "u-1"},
        service_tier="auto",
        stream=True,
    )
    assert payload["stop"] == ["END", "STOP"]
    assert (payload["temperature"], payload["top_p"], payload["top_k"]) == (0.2, 0.9, 40)
    assert payload["user"] == "u-1"
    assert payload["stream"] is True and payload["stream_options"] == {"include_usage": True}
    assert "service_tier" not in payload, "Anthropic's tiers mean nothing to an OpenAI-compatible backend"


def test_text_image_and_document_blocks_of_a_user_turn():
    payload = chat(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {
                        "type": "document",
                        "title": "Notes",
                        "source": {"type": "text", "media_type": "text/plain", "data": "The sky is green."},
                    },
                ],
            }
        ]
    )
    parts = payload["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Compare"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    assert parts[3] == {"type": "text", "text": "Notes\n\nThe sky is green."}


def test_text_only_blocks_are_sent_as_one_string():
    payload = chat(
        messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    )
    assert payload["messages"][0]["content"] == "a\nb"


def test_tool_use_and_tool_result_round_trip_as_tool_calls_and_tool_messages():
    payload = chat(
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should look it up", "signature": "sig"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Here you go"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "sunny"}],
                    },
                ],
            },
        ]
    )
    assistant, tool, user = payload["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    assert tool == {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}, "tool results come first"
    assert user == {"role": "user", "content": "Here you go"}


def test_tool_result_error_string_and_image_content():
    payload = chat(
        messages=[
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True},
                ],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "f", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [
                            {"type": "text", "text": "a chart"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                            },
                        ],
                    }
                ],
            },
        ]
    )
    messages = payload["messages"]
    assert messages[0]["content"] == "", "not null beside tool calls: llama.cpp's server refuses null"
    assert messages[1] == {"role": "tool", "tool_call_id": "t1", "content": "Error: boom"}
    assert messages[3] == {"role": "tool", "tool_call_id": "t2", "content": "a chart"}
    assert messages[4]["role"] == "user" and messages[4]["content"][0]["type"] == "image_url"


def test_tools_and_every_tool_choice():
    tools = [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]
    base = {"messages": [{"role": "user", "content": "Hi"}], "tools": tools}
    assert chat(**base)["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert chat(**base, tool_choice={"type": "auto"})["tool_choice"] == "auto"
    assert chat(**base, tool_choice={"type": "any"})["tool_choice"] == "required"
    assert chat(**base, tool_choice={"type": "none"})["tool_choice"] == "none"
    named = chat(
        **base, tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    )
    assert named["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert named["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in chat(**base, tool_choice={"type": "auto"})


@pytest.mark.parametrize(
    ("thinking", "output_config", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 8000}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 32000}, None, "high"),
        ({"type": "adaptive"}, {"effort": "max"}, "high"),
        ({"type": "adaptive"}, None, None),
        ({"type": "disabled"}, {"effort": "low"}, None),
        (None, {"effort": "medium"}, "medium"),
    ],
)
def test_thinking_maps_to_reasoning_effort(thinking, output_config, effort):
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    if thinking:
        body["thinking"] = thinking
    if output_config:
        body["output_config"] = output_config
    assert chat(**body).get("reasoning_effort") == effort


def test_output_format_becomes_a_json_schema_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    payload = chat(
        messages=[{"role": "user", "content": "Hi"}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert payload["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }


def test_count_request_translates_without_sampling_parameters():
    request = CountTokensRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert to_chat_request(request).backend_payload() == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize(
    ("block", "needle"),
    [
        (
            {"type": "container_upload", "file_id": "file_1"},
            "'container_upload' are not supported in a user turn: it belongs to Anthropic's server tools",
        ),
        ({"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}, "not fetched"),
    ],
)
def test_blocks_the_translation_cannot_express_are_400_naming_the_block(block, needle):
    with pytest.raises(InvalidRequest) as caught:
        chat(messages=[{"role": "user", "content": [block]}])
    assert needle in caught.value.message and "messages.0.content.0" in caught.value.message


def test_server_tools_are_refused_with_a_clear_message():
    with pytest.raises(InvalidRequest, match="web_search_20250305"):
        chat(
            messages=[{"role": "user", "content": "Hi"}],
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        )


def test_request_validation_follows_the_spec():
    with pytest.raises(ValidationError):
        CreateMessageRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
    with pytest.raises(ValidationError):  # temperature is 0..1 in Anthropic's API
        CreateMessageRequest.model_validate(
            {
                "model": "m",
                "max_tokens": 1,
                "temperature": 1.5,
                "messages": [{"role": "user", "content": "Hi"}],
            }
        )
    with pytest.raises(ValidationError):
        CreateMessageRequest.model_validate(
            {"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "Hi"}]}
        )
    with pytest.raises(ValidationError):
        CreateMessageRequest.model_validate(
            {
                "model": "m",
                "max_tokens": 1,
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"name": "f", "input_schema": {"type": "string"}}],
            }
        )


def _pdf(text: str) -> bytes:
    """A one-page PDF showing `text`, written by hand (pypdf reads but does not lay out text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_documents_become_their_text():
    pytest.importorskip("pypdf")
    data = base64.b64encode(_pdf("Quarterly revenue grew")).decode()
    payload = chat(
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": data},
                    },
                    {"type": "text", "text": "Summarise"},
                ],
            }
        ]
    )
    assert payload["messages"][0]["content"] == "Quarterly revenue grew\nSummarise"


def test_a_broken_pdf_is_a_400():
    pytest.importorskip("pypdf")
    with pytest.raises(InvalidRequest, match="not a readable PDF"):
        pdf_text(base64.b64encode(b"%PDF-1.4 garbage").decode())
    with pytest.raises(InvalidRequest, match="not valid base64"):
        pdf_text("***")


# -- response --------------------------------------------------------------------------------


def completion(message, finish="stop", usage_=None, **choice):
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "client-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish, **choice}
        ],
        "usage": usage_ or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def test_text_answer_becomes_a_message():
    message = to_message(completion({"content": "Hello!"}), None)
    assert message["id"].startswith("msg_")
    assert (
        message["type"] == "message" and message["role"] == "assistant" and message["model"] == "client-model"
    )
    assert message["content"] == [{"type": "text", "text": "Hello!", "citations": None}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    assert message["usage"]["input_tokens"] == 11 and message["usage"]["output_tokens"] == 7


def test_reasoning_text_and_tool_calls_become_blocks_in_order():
    message = to_message(
        completion(
            {
                "content": "Checking.",
                "reasoning_content": "Need the weather.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            finish="tool_calls",
        ),
        None,
    )
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["content"][0] == {"type": "thinking", "thinking": "Need the weather.", "signature": ""}
    assert message["content"][2] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "w",
        "input": {"city": "Oslo"},
        "caller": {"type": "direct"},
    }
    assert message["stop_reason"] == "tool_use"


def test_vllm_style_reasoning_field_is_read_too():
    message = to_message(completion({"content": "x", "reasoning": "because"}), None)
    assert message["content"][0]["thinking"] == "because"


def test_broken_tool_arguments_are_kept_visibly():
    message = to_message(
        completion(
            {
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                ],
            }
        ),
        None,
    )
    assert message["content"][0]["input"] == {"_raw_arguments": "{oops"}


@pytest.mark.parametrize(
    ("finish", "matched", "sequences", "tools", "expected"),
    [
        ("stop", None, None, False, ("end_turn", None)),
        ("length", None, None, False, ("max_tokens", None)),
        ("tool_calls", None, None, True, ("tool_use", None)),
        ("stop", None, None, True, ("tool_use", None)),
        ("length", None, None, True, ("max_tokens", None)),
        ("content_filter", None, None, False, ("refusal", None)),
        ("stop", "END", ["END", "STOP"], False, ("stop_sequence", "END")),
        ("stop", "END", None, False, ("end_turn", None)),
        ("stop", 106, ["END"], False, ("end_turn", None)),  # vLLM reports a stop *token* id as an int
    ],
)
def test_stop_reason(finish, matched, sequences, tools, expected):
    assert stop_reason(finish, matched, sequences, tools) == expected


def test_matched_stop_sequence_is_reported():
    message = to_message(completion({"content": "one two"}, stop_reason="END"), ["END"])
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")


def test_usage_is_exact_and_splits_cached_prompt_tokens():
    mapped = usage(
        {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "total_tokens": 105,
            "prompt_tokens_details": {"cached_tokens": 60},
        }
    )
    assert (mapped["input_tokens"], mapped["cache_read_input_tokens"], mapped["output_tokens"]) == (40, 60, 5)
    assert mapped["cache_creation_input_tokens"] == 0 and mapped["service_tier"] == "standard"
    assert (
        usage({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "estimated": True})["estimated"]
        is True
    )
    assert usage(None)["input_tokens"] == 0
