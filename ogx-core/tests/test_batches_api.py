"""`/v1/batches` in-process over the scripted backend (and the fake provider for completions and
embeddings), driven by the official `openai` SDK: a batch runs its lines, writes output and
error files through the Files API and sums usage; bad lines fail alone, bad files fail the batch,
a cancellation keeps the partial results, and each owner sees only their batches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from pydantic import TypeAdapter

from ogx_api.batches import Batch, BatchOutputLine
from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend

pytestmark = pytest.mark.asyncio

MODEL = "scripted/scripted"
BATCH = TypeAdapter(Batch)
OUTPUT_LINE = TypeAdapter(BatchOutputLine)
FINISHED = ("completed", "failed", "cancelled", "expired")


def _chat(custom_id: str, text: str, *, model: str = MODEL, url: str = "/v1/chat/completions") -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _jsonl(*lines: dict | str) -> bytes:
    return b"".join(
        (line.encode() if isinstance(line, str) else orjson.dumps(line)) + b"\n" for line in lines
    )


async def _upload(http: httpx.AsyncClient, content: bytes, purpose: str = "batch", **headers: str) -> str:
    response = await http.post(
        "/v1/files", files={"file": ("in.jsonl", content)}, data={"purpose": purpose}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def _create(
    http: httpx.AsyncClient, file_id: str, endpoint: str = "/v1/chat/completions", **extra: Any
) -> dict:
    headers = extra.pop("headers", {})
    body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h", **extra}
    response = await http.post("/v1/batches", json=body, headers=headers)
    assert response.status_code == 200, response.text
    BATCH.validate_python(response.json())
    return response.json()


async def _until(
    http: httpx.AsyncClient, batch_id: str, done: Callable[[dict], bool], headers: dict | None = None
) -> dict:
    """The batch once `done(batch)` holds (polled, as a client does)."""
    for _ in range(400):
        batch = (await http.get(f"/v1/batches/{batch_id}", headers=headers)).json()
        BATCH.validate_python(batch)
        if done(batch):
            return batch
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} never reached the state awaited: {batch}")


async def _wait(http: httpx.AsyncClient, batch_id: str, headers: dict | None = None) -> dict:
    return await _until(http, batch_id, lambda b: b["status"] in FINISHED, headers)


async def _lines(http: httpx.AsyncClient, file_id: str | None) -> dict[str, dict]:
    assert file_id is not None
    response = await http.get(f"/v1/files/{file_id}/content")
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    for line in lines:
        OUTPUT_LINE.validate_python(line)
    return {line["custom_id"]: line for line in lines}


async def test_a_chat_batch_runs_every_line_and_writes_its_results_through_the_sdk(serve_scripted):
    rules = [Rule(contains="refuse", reply=Reply(status=400, error="the backend refuses"))]
    with ScriptedBackend(rules) as backend:
        async with serve_scripted(backend) as (sdk, http, _):
            content = _jsonl(
                _chat("a", "one two three"),
                _chat("b", "four five"),
                _chat("bad-url", "x", url="/v1/embeddings"),
                "{not json",
                _chat("other-model", "x", model="scripted/other"),
                {
                    "custom_id": "no-messages",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {"model": MODEL},
                },
                _chat("refused", "please refuse"),
                {**_chat("get", "x"), "method": "GET"},
                _chat("a", "again"),
            )
            uploaded = await sdk.files.create(file=("in.jsonl", content), purpose="batch")
            created = await sdk.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
                metadata={"job": "nightly"},
            )
            assert created.status == "validating" and created.object == "batch"
            assert created.metadata == {"job": "nightly"} and created.expires_at == created.created_at + 86400
            batch = await _wait(http, created.id)
            assert (await sdk.batches.retrieve(created.id)).status == "completed"
            assert batch["model"] == MODEL
            assert batch["request_counts"] == {"total": 9, "completed": 2, "failed": 7}
            assert batch["in_progress_at"] and batch["finalizing_at"] and batch["completed_at"]
            assert (
                batch["created_at"]
                <= batch["in_progress_at"]
                <= batch["finalizing_at"]
                <= batch["completed_at"]
            )
            output = await _lines(http, batch["output_file_id"])
            errors = await _lines(http, batch["error_file_id"])
            output_file = await sdk.files.retrieve(batch["output_file_id"])
            assert output_file.purpose == "batch_output"

    assert set(output) == {"a", "b"}
    answer = output["a"]["response"]
    assert answer["status_code"] == 200 and answer["request_id"].startswith("req_")
    assert answer["body"]["choices"][0]["message"]["content"] == "echo: one two three"
    assert output["a"]["error"] is None and output["a"]["id"].startswith("batch_req_")
    usage = [output[c]["response"]["body"]["usage"] for c in ("a", "b")]
    assert batch["usage"]["input_tokens"] == sum(u["prompt_tokens"] for u in usage) > 0
    assert batch["usage"]["output_tokens"] == sum(u["completion_tokens"] for u in usage) > 0
    assert batch["usage"]["total_tokens"] == batch["usage"]["input_tokens"] + batch["usage"]["output_tokens"]

    codes = {custom_id: (line["error"] or {}).get("code") for custom_id, line in errors.items()}
    assert codes == {
        "a": "duplicate_custom_id",
        "bad-url": "invalid_url",
        None: "invalid_json",
        "other-model": "mixed_models",
        "no-messages": "invalid_body",
        "refused": None,
        "get": "invalid_method",
    }
    assert "messages" in errors["no-messages"]["error"]["message"]
    refused = errors["refused"]["response"]
    assert refused["status_code"] == 400 and "refuses" in refused["body"]["error"]["message"]
    assert backend.requests and len(backend.requests) == 3  # only the valid lines reached the model


async def test_completions_and_embeddings_batches_run_through_the_router(serve, fake_inference):
    async with serve(fake_inference()) as (http, _):
        completions = _jsonl(
            {
                "custom_id": "c",
                "method": "POST",
                "url": "/v1/completions",
                "body": {"model": "fake/fake-llm", "prompt": "hi"},
            }
        )
        embeddings = _jsonl(
            {
                "custom_id": "e",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": {"model": "fake/fake-embed", "input": ["a", "b"]},
            }
        )
        done = []
        for content, endpoint in ((completions, "/v1/completions"), (embeddings, "/v1/embeddings")):
            created = await _create(http, await _upload(http, content), endpoint)
            done.append(await _wait(http, created["id"]))
        completion = (await _lines(http, done[0]["output_file_id"]))["c"]["response"]["body"]
        embedded = (await _lines(http, done[1]["output_file_id"]))["e"]["response"]["body"]
    assert [b["status"] for b in done] == ["completed", "completed"]
    assert completion["object"] == "text_completion" and completion["choices"][0]["text"]
    assert [d["index"] for d in embedded["data"]] == [0, 1]
    assert done[1]["usage"]["input_tokens"] == embedded["usage"]["prompt_tokens"]


@pytest.mark.parametrize(
    ("purpose", "content", "code"),
    [
        ("user_data", _jsonl(_chat("a", "x")), "invalid_file_purpose"),
        ("batch", b"\n\n", "empty_file"),
        ("batch", _jsonl(_chat("a", "x"), _chat("b", "y"), _chat("c", "z")), "too_many_requests"),
        (None, b"", "invalid_file"),
    ],
)
async def test_a_file_that_cannot_be_run_fails_the_batch_with_errors(serve_scripted, purpose, content, code):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend, batches={"max_requests": 2}) as (_, http, _app):
            file_id = "file-0000" if purpose is None else await _upload(http, content, purpose)
            batch = await _wait(http, (await _create(http, file_id))["id"])
    assert batch["status"] == "failed" and batch["failed_at"]
    [error] = batch["errors"]["data"]
    assert error["code"] == code and error["param"] == "input_file_id"
    assert batch["output_file_id"] is None and batch["error_file_id"] is None
    assert backend.requests == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"endpoint": "/v1/moderations"}, "endpoint"),
        ({"endpoint": "/v1/nothing"}, "endpoint"),
        ({"completion_window": "48h"}, "completion_window"),
        ({"input_file_id": None}, "input_file_id"),
        ({"metadata": {"k": "v" * 600}}, "metadata"),
        ({"output_expires_after": {"anchor": "created_at", "seconds": 10}}, "output_expires_after.seconds"),
    ],
)
async def test_a_bad_create_request_is_a_400_naming_the_parameter(serve, fake_inference, body, param):
    request = {
        "input_file_id": "file-1",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        **body,
    }
    async with serve(fake_inference()) as (http, _):
        response = await http.post("/v1/batches", json=request)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def _slow(request: dict) -> str:
    time.sleep(0.15)
    return "slow"


async def test_cancel_stops_new_lines_and_keeps_the_partial_results(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (sdk, http, _):
            content = _jsonl(*(_chat(f"r{i}", f"line {i}") for i in range(40)))
            created = await _create(http, await _upload(http, content))
            await _until(http, created["id"], lambda b: b["request_counts"]["completed"] >= 1)
            cancelling = await sdk.batches.cancel(created["id"])
            assert cancelling.status == "cancelling" and cancelling.cancelling_at
            batch = await _wait(http, created["id"])
            again = await http.post(f"/v1/batches/{created['id']}/cancel")
            output = await _lines(http, batch["output_file_id"])
    assert batch["status"] == "cancelled" and batch["cancelled_at"]
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    counts = batch["request_counts"]
    assert counts["total"] == 40 and 1 <= counts["completed"] < 40 and counts["failed"] == 0
    assert len(output) == counts["completed"] == len(backend.requests)


async def test_a_batch_cancelled_at_once_ends_cancelled(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (_, http, _app):
            created = await _create(
                http, await _upload(http, _jsonl(*(_chat(f"r{i}", "x") for i in range(20))))
            )
            cancelling = (await http.post(f"/v1/batches/{created['id']}/cancel")).json()
            batch = await _wait(http, created["id"])
    assert cancelling["status"] == "cancelling"
    assert batch["status"] == "cancelled" and batch["completed_at"] is None
    assert batch["request_counts"]["completed"] == len(backend.requests) < 20


async def test_a_finished_batch_cannot_be_cancelled(serve, fake_inference):
    async with serve(fake_inference()) as (http, _):
        content = _jsonl(_chat("a", "x", model="fake/fake-llm"))
        batch = await _wait(http, (await _create(http, await _upload(http, content)))["id"])
        response = await http.post(f"/v1/batches/{batch['id']}/cancel")
    assert batch["status"] == "completed"
    assert response.status_code == 409 and response.json()["error"]["param"] == "batch_id"


async def test_a_batch_survives_a_restart(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (_, http, _app):
            content = _jsonl(*(_chat(f"r{i}", f"line {i}") for i in range(4)))
            created = await _create(http, await _upload(http, content))
            running = await _until(http, created["id"], lambda b: b["status"] != "validating")
            assert running["status"] == "in_progress"
        async with serve_scripted(backend) as (_, http, _app):  # the same database
            batch = await _wait(http, created["id"])
            output = await _lines(http, batch["output_file_id"])
    assert batch["status"] == "completed" and set(output) == {f"r{i}" for i in range(4)}


async def test_each_owner_sees_only_their_batches_and_lists_page(
    serve, fake_inference, principal_from_header
):
    alice, bob = {"x-test-principal": "alice"}, {"x-test-principal": "bob"}
    async with serve(fake_inference()) as (http, app):
        app.add_middleware(principal_from_header)
        content = _jsonl(_chat("a", "x", model="fake/fake-llm"))
        mine = [await _create(http, await _upload(http, content, **alice), headers=alice) for _ in range(3)]
        theirs = await _create(http, await _upload(http, content, **bob), headers=bob)
        assert (await _wait(http, mine[0]["id"], alice))["status"] == "completed"
        for path in (f"/v1/batches/{theirs['id']}", f"/v1/batches/{theirs['id']}/cancel"):
            method = http.post if path.endswith("cancel") else http.get
            assert (await method(path, headers=alice)).status_code == 404
        first = (await http.get("/v1/batches?limit=2", headers=alice)).json()
        rest = (await http.get(f"/v1/batches?limit=2&after={first['last_id']}", headers=alice)).json()
        bobs = (await http.get("/v1/batches", headers=bob)).json()
    assert [b["id"] for b in first["data"] + rest["data"]] == [b["id"] for b in reversed(mine)]
    assert first["has_more"] is True and rest["has_more"] is False and first["object"] == "list"
    assert [b["id"] for b in bobs["data"]] == [theirs["id"]]


async def test_a_responses_batch_runs_through_the_responses_service(serve_scripted):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend) as (sdk, http, _):
            line = {
                "custom_id": "r",
                "method": "POST",
                "url": "/v1/responses",
                "body": {"model": MODEL, "input": "hi there"},
            }
            streamed = {**line, "custom_id": "s", "body": {**line["body"], "stream": True}}
            created = await _create(http, await _upload(http, _jsonl(line, streamed)), "/v1/responses")
            batch = await _wait(http, created["id"])
            response = (await _lines(http, batch["output_file_id"]))["r"]["response"]["body"]
            errors = await _lines(http, batch["error_file_id"])
            stored = await sdk.responses.retrieve(response["id"])
    assert batch["status"] == "completed" and batch["request_counts"]["completed"] == 1
    assert response["object"] == "response" and response["status"] == "completed"
    assert stored.output_text == "echo: hi there"
    assert batch["usage"]["input_tokens"] == response["usage"]["input_tokens"] > 0
    assert errors["s"]["error"]["code"] == "invalid_body" and "stream" in errors["s"]["error"]["message"]


@pytest.mark.integration
async def test_a_batch_runs_and_cancels_on_postgresql(serve_scripted, ogx_postgres_database):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        storage = {"url": ogx_postgres_database}
        async with serve_scripted(backend, storage=storage, batches={"max_concurrency": 2}) as (
            _,
            http,
            _app,
        ):
            done = await _create(http, await _upload(http, _jsonl(_chat("a", "x"), _chat("b", "y"))))
            cancelled = await _create(
                http, await _upload(http, _jsonl(*(_chat(f"r{i}", "z") for i in range(60))))
            )
            await _until(http, cancelled["id"], lambda b: b["request_counts"]["completed"] >= 2)
            assert (await http.post(f"/v1/batches/{cancelled['id']}/cancel")).json()["status"] == "cancelling"
            done, cancelled = await _wait(http, done["id"]), await _wait(http, cancelled["id"])
            listed = (await http.get("/v1/batches")).json()["data"]
    assert done["status"] == "completed" and done["request_counts"]["completed"] == 2
    assert cancelled["status"] == "cancelled" and 2 <= cancelled["request_counts"]["completed"] < 60
    assert [b["id"] for b in listed] == [cancelled["id"], done["id"]]


def _created_hours_ago(hours: float) -> Callable[[], float]:
    """A clock whose first reading (the create) is `hours` in the past, the rest now: a batch
    whose job first runs that long after it was created (a long outage)."""
    readings = iter([time.time() - hours * 3600])
    return lambda: next(readings, None) or time.time()


async def test_a_batch_past_its_deadline_expires_keeping_the_lines_that_ran(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (sdk, http, app):
            service = app.state.ogx.batches
            content = _jsonl(*(_chat(f"r{i}", f"line {i}") for i in range(40)))
            created = await _create(http, await _upload(http, content))
            await _until(http, created["id"], lambda b: b["request_counts"]["completed"] >= 1)
            service.clock = lambda: time.time() + 24 * 3600 + 1
            batch = await _wait(http, created["id"])
            retrieved = await sdk.batches.retrieve(created["id"])
            output = await _lines(http, batch["output_file_id"])
            errors = await _lines(http, batch["error_file_id"])
    assert retrieved.status == "expired" and retrieved.expired_at is not None
    assert batch["completed_at"] is None and batch["expired_at"] >= batch["expires_at"]
    counts = batch["request_counts"]
    assert counts["total"] == 40 and 1 <= counts["completed"] < 40
    assert counts["failed"] == 40 - counts["completed"]
    assert len(output) == counts["completed"] == len(backend.requests)
    assert all(line["response"]["status_code"] == 200 for line in output.values())
    assert set(output) | set(errors) == {f"r{i}" for i in range(40)} and not set(output) & set(errors)
    assert {line["error"]["code"] for line in errors.values()} == {"batch_expired"}
    assert all(line["response"] is None for line in errors.values())
    assert next(iter(errors.values()))["error"]["message"] == (
        "This request could not be executed before the completion window expired."
    )


async def test_a_batch_whose_job_starts_after_its_deadline_runs_no_line(serve_scripted):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend) as (sdk, http, app):
            app.state.ogx.batches.clock = _created_hours_ago(25)
            created = await _create(http, await _upload(http, _jsonl(_chat("a", "x"), _chat("b", "y"))))
            batch = await _wait(http, created["id"])
            retrieved = await sdk.batches.retrieve(created["id"])
            errors = await _lines(http, batch["error_file_id"])
    assert created["expires_at"] < time.time()
    assert retrieved.status == "expired" and retrieved.expired_at and retrieved.output_file_id is None
    assert batch["request_counts"] == {"total": 2, "completed": 0, "failed": 2}
    assert {c: line["error"]["code"] for c, line in errors.items()} == {
        "a": "batch_expired",
        "b": "batch_expired",
    }
    assert backend.requests == []
