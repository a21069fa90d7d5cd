"""`/v1/messages/batches` in-process over the scripted backend, driven by the official `anthropic`
SDK: a batch runs each request through the Messages service and serves its results once ended;
a bad request fails the create, a failing one errors alone, a cancellation leaves the requests not
started `canceled`, a batch survives a restart, and each owner sees only their batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import AsyncAnthropic

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend

pytestmark = pytest.mark.asyncio

MODEL = "scripted/scripted"


def _request(custom_id: str, text: str, **params: Any) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": text}], **params}
    return {"custom_id": custom_id, "params": body}


def _client(http: Any, **headers: str) -> AsyncAnthropic:
    """The SDK (on httpx2) in front of the app `http` (an httpx client on the ASGI app) serves."""
    transport = httpx2.ASGITransport(app=http._transport.app)
    return AsyncAnthropic(
        api_key="none",
        base_url="http://ogx.test",
        http_client=httpx2.AsyncClient(transport=transport, base_url="http://ogx.test"),
        max_retries=0,
        default_headers=headers,
    )


async def _until(client: AsyncAnthropic, batch_id: str, done: Callable[[Any], bool]) -> Any:
    for _ in range(400):
        batch = await client.messages.batches.retrieve(batch_id)
        if done(batch):
            return batch
        await asyncio.sleep(0.05)
    raise AssertionError(f"message batch {batch_id} never reached the state awaited: {batch}")


async def _ended(client: AsyncAnthropic, batch_id: str) -> Any:
    return await _until(client, batch_id, lambda b: b.processing_status == "ended")


async def _results(client: AsyncAnthropic, batch_id: str) -> dict[str, Any]:
    return {r.custom_id: r.result async for r in await client.messages.batches.results(batch_id)}


async def _until_a_request_ran(backend: ScriptedBackend) -> None:
    for _ in range(200):
        if backend.requests:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the job never ran a request")


def _slow(_: Any) -> str:
    import time

    time.sleep(0.1)  # the scripted backend answers from a thread: a request that takes a while
    return "slow"


async def test_a_batch_runs_each_request_and_serves_its_results(serve_scripted):
    rules = [Rule(contains="refuse", reply=Reply(status=400, error="the backend refuses"))]
    with ScriptedBackend(rules) as backend:
        async with serve_scripted(backend) as (_, http, _app):
            client = _client(http)
            created = await client.messages.batches.create(
                requests=[
                    _request("a", "one two three"),
                    _request("refused", "please refuse"),
                    _request("streamed", "x", stream=True),
                ]
            )
            assert created.id.startswith("msgbatch_") and created.type == "message_batch"
            assert created.processing_status == "in_progress" and created.results_url is None
            assert created.request_counts.processing == 3
            assert (created.expires_at - created.created_at).total_seconds() == 86400
            early = await http.get(f"/v1/messages/batches/{created.id}/results")
            batch = await _ended(client, created.id)
            results = await _results(client, created.id)
            raw = (await http.get(f"/v1/messages/batches/{created.id}")).json()
    assert early.status_code == 400 and early.json()["type"] == "error"
    assert batch.ended_at is not None and batch.results_url.endswith(
        f"/v1/messages/batches/{created.id}/results"
    )
    counts = batch.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled) == (0, 1, 2, 0)
    assert raw["created_at"].endswith("Z") and raw["archived_at"] is None
    assert list(results) == ["a", "refused", "streamed"]
    assert results["a"].type == "succeeded"
    assert results["a"].message.content[0].text == "echo: one two three"
    assert results["refused"].type == "errored"
    assert results["refused"].error.error.type == "invalid_request_error"
    assert "stream" in results["streamed"].error.error.message
    assert len(backend.requests) == 2  # the streamed request never reached the backend


@pytest.mark.parametrize(
    ("requests", "named"),
    [
        ([_request("a", "x", max_tokens=0)], "requests.0.params.max_tokens"),
        (
            [_request("a", "x"), {"custom_id": "b", "params": {"model": MODEL, "max_tokens": 5}}],
            "requests.1.params.messages",
        ),
        ([_request("a", "x"), _request("a", "y")], "requests.1.custom_id"),
        ([_request("bad id!", "x")], "requests.0.custom_id"),
        ([], "requests"),
        ([_request(f"r{i}", "x") for i in range(4)], "at most 3"),
        (  # a large body (validated off the event loop)
            [_request(f"r{i}", "x" * 500) for i in range(700)] + [_request("last", "x", max_tokens=0)],
            "requests.700.params.max_tokens",
        ),
    ],
)
async def test_an_invalid_request_fails_the_whole_create(serve_scripted, requests, named):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend, batches={"max_requests": 3}) as (_, http, _app):
            with pytest.raises(anthropic.BadRequestError) as raised:
                await _client(http).messages.batches.create(requests=requests)
            listed = (await http.get("/v1/messages/batches")).json()
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert named in raised.value.body["error"]["message"]
    assert listed["data"] == []


async def test_cancel_ends_the_batch_with_the_requests_not_started_canceled(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (_, http, _app):
            client = _client(http)
            created = await client.messages.batches.create(
                requests=[_request(f"r{i}", "x") for i in range(40)]
            )
            with pytest.raises(anthropic.BadRequestError):
                await client.messages.batches.delete(created.id)  # still running
            canceling = await client.messages.batches.cancel(created.id)
            batch = await _ended(client, created.id)
            results = await _results(client, created.id)
            deleted = await client.messages.batches.delete(created.id)
            with pytest.raises(anthropic.NotFoundError):
                await client.messages.batches.retrieve(created.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    counts = batch.request_counts
    assert counts.succeeded == len(backend.requests) < 40 and counts.canceled == 40 - counts.succeeded
    assert sum(r.type == "canceled" for r in results.values()) == counts.canceled
    assert deleted.id == created.id and deleted.type == "message_batch_deleted"


async def test_a_batch_survives_a_restart(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (_, http, _app):
            created = await _client(http).messages.batches.create(
                requests=[_request(f"r{i}", "x") for i in range(4)]
            )
            await _until_a_request_ran(backend)
            assert (
                await _client(http).messages.batches.retrieve(created.id)
            ).processing_status == "in_progress"
        async with serve_scripted(backend) as (_, http, _app):  # the same database
            client = _client(http)
            batch = await _ended(client, created.id)
            results = await _results(client, created.id)
    assert batch.request_counts.succeeded == 4
    assert {c: r.type for c, r in results.items()} == {f"r{i}": "succeeded" for i in range(4)}


async def test_each_owner_sees_only_their_batches_and_lists_page(serve_scripted, principal_from_header):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend) as (_, http, app):
            app.add_middleware(principal_from_header)
            alice, bob = (
                _client(http, **{"x-test-principal": "alice"}),
                _client(http, **{"x-test-principal": "bob"}),
            )
            mine = [(await alice.messages.batches.create(requests=[_request("a", "x")])).id for _ in range(3)]
            theirs = (await bob.messages.batches.create(requests=[_request("a", "x")])).id
            await _ended(bob, theirs)
            for call in (
                alice.messages.batches.retrieve,
                alice.messages.batches.cancel,
                alice.messages.batches.delete,
                alice.messages.batches.results,
            ):
                with pytest.raises(anthropic.NotFoundError):
                    await call(theirs)
            first = await alice.messages.batches.list(limit=2)
            rest = await alice.messages.batches.list(limit=2, after_id=first.last_id)
            back = await alice.messages.batches.list(limit=2, before_id=rest.first_id)
            everything = [b.id async for b in alice.messages.batches.list(limit=2)]
            bobs = await bob.messages.batches.list()
            with pytest.raises(anthropic.BadRequestError):
                await alice.messages.batches.list(limit=1001)
    assert [b.id for b in first.data + rest.data] == everything == list(reversed(mine))
    assert first.has_more is True and rest.has_more is False
    assert [b.id for b in back.data] == [b.id for b in first.data]
    assert [b.id for b in bobs.data] == [theirs]


@pytest.mark.integration
async def test_a_message_batch_runs_cancels_and_deletes_on_postgresql(serve_scripted, ogx_postgres_database):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        postgres = {"storage": {"url": ogx_postgres_database}, "batches": {"max_concurrency": 1}}
        async with serve_scripted(backend, **postgres) as (_, http, _app):
            client = _client(http)
            done = await client.messages.batches.create(requests=[_request("a", "x")])
            stopped = await client.messages.batches.create(
                requests=[_request(f"r{i}", "x") for i in range(20)]
            )
            await client.messages.batches.cancel(stopped.id)
            ended = [await _ended(client, batch.id) for batch in (done, stopped)]
            results = await _results(client, done.id)
            await client.messages.batches.delete(stopped.id)
            listed = [b.id for b in (await client.messages.batches.list()).data]
    assert ended[0].request_counts.succeeded == 1 and results["a"].type == "succeeded"
    assert ended[1].request_counts.canceled > 0
    assert listed == [done.id]


async def test_requests_not_run_by_the_deadline_expire_and_the_batch_ends(serve_scripted):
    with ScriptedBackend(default=Reply(text=_slow)) as backend:
        async with serve_scripted(backend, batches={"max_concurrency": 1}) as (_, http, app):
            client = _client(http)
            created = await client.messages.batches.create(
                requests=[_request(f"r{i}", "x") for i in range(40)]
            )
            await _until_a_request_ran(backend)
            app.state.ogx.message_batches.clock = lambda: time.time() + 24 * 3600 + 1
            batch = await _ended(client, created.id)
            results = await _results(client, created.id)
    counts = batch.request_counts
    assert batch.ended_at is not None and batch.ended_at >= batch.expires_at
    assert 1 <= counts.succeeded == len(backend.requests) < 40
    assert counts.expired == 40 - counts.succeeded and counts.canceled == counts.errored == 0
    assert sum(r.type == "expired" for r in results.values()) == counts.expired
    assert sum(r.type == "succeeded" for r in results.values()) == counts.succeeded


async def test_a_batch_whose_job_starts_after_its_deadline_expires_every_request(serve_scripted):
    with ScriptedBackend() as backend:
        async with serve_scripted(backend) as (_, http, app):
            readings = iter([time.time() - 25 * 3600])  # created 25 h ago, run now (a long outage)
            app.state.ogx.message_batches.clock = lambda: next(readings, None) or time.time()
            client = _client(http)
            created = await client.messages.batches.create(requests=[_request("a", "x"), _request("b", "y")])
            batch = await _ended(client, created.id)
            results = await _results(client, created.id)
    assert batch.request_counts.expired == 2 and batch.request_counts.succeeded == 0
    assert {c: r.type for c, r in results.items()} == {"a": "expired", "b": "expired"}
    assert backend.requests == []
