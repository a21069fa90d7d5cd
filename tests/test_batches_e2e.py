"""The Batches API end to end: the official `openai` SDK against `ogx run` in front of the scripted
backend. Upload a JSONL file, create a batch, poll it, download its output and error files; cancel
one. Anthropic's Message Batches with the `anthropic` SDK on the same server. (Owners are tested in-process, `ogx-core/tests/test_batches_api.py`: `ogx run` has no
authentication yet.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend

pytestmark = pytest.mark.integration

MODEL = "scripted/scripted"


def _slow(request: dict) -> str:
    time.sleep(0.2)
    return "slow"


@pytest.fixture(scope="module")
def backend() -> Iterator[ScriptedBackend]:
    with ScriptedBackend([Rule(contains="slow", reply=Reply(text=_slow))]) as backend:
        yield backend


@pytest.fixture(scope="module")
def server(backend, ogx_runner, tmp_path_factory) -> Iterator[Any]:
    config = {
        "version": 2,
        "name": "e2e-batches",
        "providers": {
            "inference": [
                {
                    "provider_id": "scripted",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": backend.base_url},
                }
            ]
        },
        "batches": {"max_concurrency": 2},
    }
    with ogx_runner(config, tmp_path_factory.mktemp("ogx-batches")) as server:
        yield server
        server.assert_no_server_errors()


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="unused", max_retries=0)


def _upload(client: openai.OpenAI, lines: list[dict]) -> str:
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return client.files.create(file=("requests.jsonl", content), purpose="batch").id


def _request(custom_id: str, text: str, url: str = "/v1/chat/completions") -> dict:
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 16}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _poll(client: openai.OpenAI, batch_id: str) -> openai.types.Batch:
    for _ in range(300):
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def _download(client: openai.OpenAI, file_id: str | None) -> dict[str, dict]:
    assert file_id is not None
    lines = [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
    return {line["custom_id"]: line for line in lines}


def test_a_batch_runs_and_its_results_are_files(client):
    lines = [_request(f"q{i}", f"question {i}") for i in range(5)]
    lines.append(_request("wrong-url", "x", url="/v1/completions"))
    created = client.batches.create(
        input_file_id=_upload(client, lines), endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert created.status == "validating" and created.endpoint == "/v1/chat/completions"
    batch = _poll(client, created.id)
    assert batch.status == "completed" and batch.model == MODEL
    assert (
        batch.request_counts.total == 6
        and batch.request_counts.completed == 5
        and batch.request_counts.failed == 1
    )
    assert batch.usage.input_tokens > 0 and batch.usage.output_tokens > 0
    output = _download(client, batch.output_file_id)
    assert set(output) == {f"q{i}" for i in range(5)}
    for custom_id, line in output.items():
        assert line["response"]["status_code"] == 200
        assert (
            line["response"]["body"]["choices"][0]["message"]["content"] == f"echo: question {custom_id[1:]}"
        )
    errors = _download(client, batch.error_file_id)
    assert errors["wrong-url"]["error"]["code"] == "invalid_url" and errors["wrong-url"]["response"] is None
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert created.id in [b.id for b in client.batches.list(limit=10)]


def test_a_cancelled_batch_keeps_what_ran(client):
    lines = [_request(f"s{i}", f"slow {i}") for i in range(60)]
    created = client.batches.create(
        input_file_id=_upload(client, lines), endpoint="/v1/chat/completions", completion_window="24h"
    )
    while client.batches.retrieve(created.id).request_counts.completed < 2:
        time.sleep(0.1)
    assert client.batches.cancel(created.id).status == "cancelling"
    batch = _poll(client, created.id)
    assert batch.status == "cancelled" and batch.cancelled_at
    assert 2 <= batch.request_counts.completed < 60
    assert len(_download(client, batch.output_file_id)) == batch.request_counts.completed
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")


def test_an_anthropic_message_batch_runs_and_serves_its_results(server):
    params = {"model": MODEL, "max_tokens": 16}
    with anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0) as claude:
        created = claude.messages.batches.create(
            requests=[
                {
                    "custom_id": f"m{i}",
                    "params": {**params, "messages": [{"role": "user", "content": f"hi {i}"}]},
                }
                for i in range(3)
            ]
        )
        assert created.processing_status == "in_progress" and created.id.startswith("msgbatch_")
        for _ in range(300):
            batch = claude.messages.batches.retrieve(created.id)
            if batch.processing_status == "ended":
                break
            time.sleep(0.1)
        results = {r.custom_id: r.result for r in claude.messages.batches.results(created.id)}
        listed = [b.id for b in claude.messages.batches.list(limit=5).data]
        deleted = claude.messages.batches.delete(created.id)
        with pytest.raises(anthropic.NotFoundError):
            claude.messages.batches.retrieve(created.id)
    assert batch.processing_status == "ended" and batch.request_counts.succeeded == 3
    assert {c: r.message.content[0].text for c, r in results.items()} == {
        f"m{i}": f"echo: hi {i}" for i in range(3)
    }
    assert created.id in listed and deleted.type == "message_batch_deleted"
