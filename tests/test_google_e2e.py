"""`ogx run` with ogx-vllm in front of the real model: its raw Interactions responses and stream
events validated against Google's published specifications of both revisions (the original,
`outputs`, and `Api-Revision: 2026-05-20`, `steps`). The SDK's view is tests/test_google_sdk.py.

The model is a small base model: these tests assert the API a client sees, not the text."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

pytestmark = pytest.mark.integration

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
def raw(vllm_ogx):
    with httpx.Client(base_url=f"{vllm_ogx.base_url}/v1beta", timeout=120) as http:
        yield http


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
