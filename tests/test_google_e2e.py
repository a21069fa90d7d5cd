"""Google's `google-genai` SDK against `ogx run` with ogx-vllm in front of the real model, and
the raw responses and stream events validated against Google's published specification.

The model is a small base model: these tests assert the API a client sees, not the text."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types
from google.genai._interactions import BadRequestError, NotFoundError
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Interactions usage is experimental:UserWarning"),
]

SPEC = Path(__file__).resolve().parents[2] / "shared" / "specs" / "google-interactions-spec.json"
SHORT = {"temperature": 0, "max_output_tokens": 8, "seed": 1}


def _validators(spec: dict[str, Any]):
    registry = Registry().with_resource(
        "spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )

    def validator(name: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"spec#/components/schemas/{name}"}, registry=registry)

    return validator


@pytest.fixture(scope="module")
def spec_validator():
    return _validators(json.loads(SPEC.read_text()))


@pytest.fixture(scope="module")
def steps_spec_validator():
    """Google's spec of the `Api-Revision: 2026-05-20` revision, as llm-comply ships it. Its model
    names are an enum of Google's models marked `x-speakeasy-unknown-values: allow` (clients take
    others): any name is allowed here too."""
    spec = json.loads(files("llm_comply.specs").joinpath("google_interactions.json").read_text())
    assert spec["components"]["schemas"]["ModelOption"]["x-speakeasy-unknown-values"] == "allow"
    spec["components"]["schemas"]["ModelOption"] = {"type": "string"}
    return _validators(spec)


@pytest.fixture(scope="module")
def paths_called() -> list[str]:
    return []


@pytest.fixture(scope="module")
def client(vllm_ogx, paths_called):
    """The SDK as a user makes it, with its default `api_version`; the paths it calls are recorded."""
    with httpx.Client(
        timeout=120, event_hooks={"request": [lambda r: paths_called.append(r.url.path)]}
    ) as http:
        options = types.HttpOptions(base_url=vllm_ogx.base_url, timeout=120_000, httpx_client=http)
        yield genai.Client(api_key="unused", http_options=options)


@pytest.fixture(scope="module")
def raw(vllm_ogx):
    with httpx.Client(base_url=f"{vllm_ogx.base_url}/v1beta", timeout=120) as http:
        yield http


def test_create_with_the_sdk(client, paths_called):
    interaction = client.interactions.create(
        model="gemma",
        input="Name a colour.",
        system_instruction="Answer in one word.",
        generation_config={**SHORT, "top_p": 0.9, "top_k": 20, "stop_sequences": ["\n\n"]},
    )
    assert paths_called[-1] == "/v1beta/interactions", "google-genai's default api_version is v1beta"
    assert interaction.status in ("completed", "incomplete")
    assert interaction.model == "gemma" and interaction.role == "model"
    assert interaction.outputs and interaction.outputs[-1].type == "text"
    assert interaction.usage.total_output_tokens > 0
    assert interaction.usage.total_tokens >= interaction.usage.total_input_tokens


def _validated_exchange(raw, validator, body, headers=None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`body` sent as JSON and as a stream, the interaction and each event validated by `validator`."""
    response = raw.post("/interactions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    validator("Interaction").validate(response.json())
    streamed = raw.post("/interactions", json=body | {"stream": True}, headers=headers)
    assert streamed.status_code == 200, streamed.text
    events = [json.loads(frame.split("data: ", 1)[1]) for frame in streamed.text.split("\n\n") if frame]
    for event in events:
        validator("InteractionSseEvent").validate(event)
    return response.json(), events


def test_responses_and_events_match_googles_specification(raw, spec_validator):
    body = {"model": "gemma", "input": [{"role": "user", "content": "Hi"}], "generation_config": SHORT}
    _, events = _validated_exchange(raw, spec_validator, body)
    assert [events[0]["event_type"], events[-1]["event_type"]] == [
        "interaction.start",
        "interaction.complete",
    ]

    error = raw.post("/interactions", json={"model": "gemma", "input": 5})
    assert error.status_code == 400
    assert set(error.json()) == {"error"}
    spec_validator("Error").validate(error.json()["error"])
    assert "input" in error.json()["error"]["message"]


def test_the_steps_revision_matches_its_specification(raw, steps_spec_validator):
    body = {
        "model": "gemma",
        "input": [{"type": "user_input", "content": [{"type": "text", "text": "Hi"}]}],
        "generation_config": SHORT,
    }
    interaction, events = _validated_exchange(
        raw, steps_spec_validator, body, headers={"Api-Revision": "2026-05-20"}
    )
    assert interaction["steps"][-1]["type"] == "model_output"
    assert [events[0]["event_type"], events[-1]["event_type"]] == [
        "interaction.created",
        "interaction.completed",
    ]


def test_the_sdk_asking_for_v1alpha_reaches_the_same_interactions(client, vllm_ogx):
    options = types.HttpOptions(base_url=vllm_ogx.base_url, api_version="v1alpha", timeout=120_000)
    alpha = genai.Client(api_key="unused", http_options=options)
    created = alpha.interactions.create(model="gemma", input="Name a colour.", generation_config=SHORT)
    assert created.status in ("completed", "incomplete") and created.outputs
    assert client.interactions.get(created.id).outputs == created.outputs
    alpha.interactions.delete(created.id)
    with pytest.raises(NotFoundError):
        client.interactions.get(created.id)


def test_streaming_with_the_sdk(client):
    events = list(
        client.interactions.create(
            model="gemma", input="Count: one, two,", generation_config=SHORT, stream=True
        )
    )
    kinds = [e.event_type for e in events]
    assert kinds[0] == "interaction.start" and kinds[-1] == "interaction.complete"
    assert "content.delta" in kinds
    text = "".join(e.delta.text for e in events if e.event_type == "content.delta" and e.delta.type == "text")
    final = events[-1].interaction
    assert final.outputs[-1].text == text
    assert final.usage.total_output_tokens > 0


def test_conversation_get_delete_and_cancel_with_the_sdk(client):
    first = client.interactions.create(model="gemma", input="My name is Ada.", generation_config=SHORT)
    second = client.interactions.create(
        model="gemma", input="What is my name?", previous_interaction_id=first.id, generation_config=SHORT
    )
    assert second.previous_interaction_id == first.id and second.usage.total_input_tokens > (
        first.usage.total_input_tokens
    ), "the earlier turns are part of the prompt"

    fetched = client.interactions.get(first.id, include_input=True)
    assert fetched.id == first.id and fetched.input == "My name is Ada."
    with pytest.raises(BadRequestError):
        client.interactions.cancel(first.id)  # only a running background interaction can be cancelled

    client.interactions.delete(first.id)
    with pytest.raises(NotFoundError):
        client.interactions.get(first.id)


def test_function_call_and_result_through_the_real_backend(client):
    weather = {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    interaction = client.interactions.create(
        model="gemma",
        tools=[weather],
        generation_config=SHORT,
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "model",
                "content": [
                    {
                        "type": "function_call",
                        "id": "call_1",
                        "name": "get_weather",
                        "arguments": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "function_result",
                        "call_id": "call_1",
                        "name": "get_weather",
                        "result": "sunny, 21 C",
                    }
                ],
            },
        ],
    )
    assert interaction.status in ("completed", "incomplete", "requires_action")
    assert interaction.outputs


def test_unknown_model_is_a_404_the_sdk_raises(client, vllm_ogx):
    with pytest.raises(NotFoundError) as caught:
        client.interactions.create(model="no-such-model", input="hi")
    error: dict[str, Any] = caught.value.body["error"]  # type: ignore[index]
    assert error["code"] == "model_not_found" and "gemma" in error["message"]
    vllm_ogx.assert_no_server_errors()
