"""`built_chat_request`: a chat request OGX translated from another API is the same request as
validating its dict, and sends that dict to the backend as it is."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ogx_api.inference import ChatCompletionRequest, built_chat_request

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

PAYLOADS: list[dict[str, Any]] = [
    {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "Hello"}]},
    {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "weather", "description": "d", "parameters": SCHEMA}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": False,
        "stop": ["\n\n"],
        "temperature": 1,
        "top_p": 0.5,
        "top_k": 40,
        "reasoning_effort": "low",
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}},
    },
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["small", "everything"])
def test_it_is_the_validated_request_and_sends_the_same_body(payload: dict[str, Any]) -> None:
    built, validated = built_chat_request(payload), ChatCompletionRequest.model_validate(payload)
    assert isinstance(built, ChatCompletionRequest)
    assert built.model_dump() == validated.model_dump()
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_extra == validated.model_extra
    built.model = validated.model = "backend-model"  # what the router does
    assert built.backend_payload() == validated.backend_payload()
    assert built.backend_payload()["model"] == "backend-model"


def test_the_body_is_a_fresh_dict_each_time() -> None:
    request = built_chat_request(PAYLOADS[0])
    request.backend_payload()["keep_alive"] = "5m"  # an adapter adding its defaults
    assert "keep_alive" not in request.backend_payload()
    assert "keep_alive" not in PAYLOADS[0]


def test_a_field_changed_afterwards_reaches_the_backend() -> None:
    request = built_chat_request(dict(PAYLOADS[0]))
    request.temperature = 0.25
    assert request.backend_payload()["temperature"] == 0.25
    copy = built_chat_request(dict(PAYLOADS[0])).model_copy(update={"max_tokens": 7})
    assert copy.backend_payload()["max_tokens"] == 7


def test_an_invalid_payload_fails_as_validation_does() -> None:
    with pytest.raises(ValidationError, match="temperature"):
        built_chat_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 5})
