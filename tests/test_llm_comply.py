"""Vendor-format conformance with `llm-comply` (PyPI), run against `ogx run` in front of the
scripted backend, one format per parameter. Every test it runs must pass (its advisory checks
are warnings; a test it skips by itself, e.g. reasoning for a non-reasoning model, stays skipped).
Never run its `update-spec`: it checks against the spec it ships with."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

pytestmark = pytest.mark.integration

MODEL = "scripted-model"
RULES = [
    # A function tool offered with tool_choice "required" is called.
    Rule(
        tool="get_weather",
        last_role="user",
        reply=Reply(tool_calls=[ToolCall("get_weather", {"location": "SF"})]),
    ),
]
# Format -> the base URL suffix llm-comply is pointed at.
FORMATS = {"open-responses": "/v1"}


def _llm_comply() -> str:
    found = shutil.which("llm-comply") or str(Path(sys.executable).with_name("llm-comply"))
    if not Path(found).exists():
        pytest.fail("llm-comply is not installed (it is in the workspace's dev dependencies)")
    return found


@pytest.fixture(scope="module")
def server(ogx_runner, tmp_path_factory):
    with ScriptedBackend(RULES, models=["scripted"]) as backend:
        config = {
            "version": 2,
            "name": "e2e-llm-comply",
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
                "models": [{"model_id": MODEL, "provider_id": "scripted", "provider_model_id": "scripted"}]
            },
        }
        with ogx_runner(config, tmp_path_factory.mktemp("ogx-llm-comply")) as server:
            yield server
            server.assert_no_server_errors()


@pytest.mark.parametrize("api_format", sorted(FORMATS))
def test_llm_comply_passes_entirely(server, api_format):
    command = [
        _llm_comply(),
        "--format", api_format,
        "--base-url", server.base_url + FORMATS[api_format],
        "--api-key", "unused",
        "--model", MODEL,
        "--json",
        "--timeout", "60",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.stdout.strip(), finished.stderr
    report = json.loads(finished.stdout)
    results = report["results"] if isinstance(report, dict) else report
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, json.dumps(failed, indent=1)[:6000]
    assert [r for r in results if r["status"] == "passed"], report
