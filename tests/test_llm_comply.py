"""`llm-comply` (the multi-format API compliance checker) against `ogx run`, one format per case.

OGX sits in front of the scripted backend (`ogx_api.testing.scripted`) through `remote::vllm`:
what is checked is OGX's own work (translation, streaming events, usage, errors), and the
backend answers deterministically (a tool call when a tool is offered, reasoning when reasoning
is asked for), so no check is skipped or merely warned about. The model ids are ones llm-comply
recognises as reasoning models, for the same reason. Every check must pass without a warning.

Adding a format is one entry in `FORMATS`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall, message_text

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Format:
    model: str  # served by OGX (an alias of the scripted backend's model)
    options: tuple[str, ...] = ()  # extra llm-comply arguments (e.g. how to send the key)


FORMATS = {
    "anthropic": Format("claude-sonnet-4-5", ("--auth-header", "x-api-key", "--no-bearer")),
    "openai-chat": Format("o4-mini"),
    "open-responses": Format("o3-mini"),
    # llm-comply checks the `steps` revision, which Google serves (and google-genai 2.x and 3.x read)
    # with `Api-Revision: 2026-05-20`; without it, OGX answers in the spec's `outputs` revision.
    "google-interactions": Format(
        "gemini-2.5-flash",
        ("--auth-header", "x-goog-api-key", "--no-bearer", "--header", "Api-Revision:2026-05-20"),
    ),
}

REASONING_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 20,
    "total_tokens": 32,
    "completion_tokens_details": {"reasoning_tokens": 19},
}


def _has_image(request):
    return any(
        isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
        for m in request["messages"]
    )


def _system(request) -> str:
    return " ".join(message_text(m) for m in request["messages"] if m.get("role") == "system")


RULES = [
    Rule(
        tool="get_weather", reply=Reply(tool_calls=[ToolCall("get_weather", {"location": "San Francisco"})])
    ),
    Rule(
        when=lambda r: "reasoning_effort" in r,
        reply=Reply(reasoning="15 * 37 = 450 + 105 = 555.", text="555", usage=REASONING_USAGE),
    ),
    Rule(when=_has_image, reply=Reply(text="A small photograph.")),
    Rule(when=lambda r: "one word" in _system(r), reply=Reply(text="Hello.")),
    Rule(contains="my name", reply=Reply(text="Alice")),
    Rule(contains="count", reply=Reply(text="1 2 3 4 5")),
]


@pytest.fixture(scope="module")
def server(ogx_runner, tmp_path_factory):
    with ScriptedBackend(RULES, models=["scripted"]) as backend:
        config = {
            "version": 2,
            "name": "llm-comply",
            "providers": {
                "inference": [
                    {
                        "provider_id": "scripted",
                        "provider_type": "remote::vllm",
                        "config": {"base_url": backend.base_url},
                    }
                ]
            },
            "registered_resources": {
                "models": [
                    {"model_id": f.model, "provider_id": "scripted", "provider_model_id": "scripted"}
                    for f in FORMATS.values()
                ]
            },
        }
        with ogx_runner(config, tmp_path_factory.mktemp("ogx-llm-comply")) as server:
            yield server
            server.assert_no_server_errors()


@pytest.mark.parametrize("api_format", sorted(FORMATS))
def test_llm_comply(server, api_format):
    fmt = FORMATS[api_format]
    command = [
        sys.executable,
        "-c",
        "import sys; from llm_comply.cli import main; sys.exit(main())",
        "--base-url",
        server.openai_base_url,
        "--api-key",
        "sk-unused",
        "--model",
        fmt.model,
        "--format",
        api_format,
        "--timeout",
        "30",
        "--json",
        *fmt.options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    report = json.loads(done.stdout[done.stdout.index("{") :])
    results = report["results"]
    assert results, done.stdout + done.stderr
    problems = {
        r["id"]: r.get("errors", []) + [f"warning: {w}" for w in r.get("warnings", [])]
        for r in results
        if r["status"] != "passed" or r.get("warnings")
    }
    assert not problems, json.dumps(problems, indent=2)
    assert done.returncode == 0, done.stdout + done.stderr
