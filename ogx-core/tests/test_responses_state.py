"""Responses state beyond one request, in-process: background responses on the job system
(polling, cancel), and the `conversation` parameter over a Conversations service double with
the interface the Conversations API provides (`get`, `items_for_context`, `append_items`)."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import pytest

from ogx_api import NotFound
from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend

MODEL = "scripted/scripted"


def _slow(request: dict[str, Any]) -> bool:
    if "slowly" in str(request["messages"][-1].get("content")):
        time.sleep(3.0)  # long enough to cancel it first, even on a loaded machine
        return True
    return False


@pytest.fixture
def backend():
    with ScriptedBackend([Rule(when=_slow, reply=Reply(text="took my time"))]) as server:
        yield server


async def _wait_for(http, response_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20.0
    while True:
        body = (await http.get(f"/v1/responses/{response_id}")).json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_a_background_response_is_queued_then_completed(backend, serve_scripted, open_responses):
    async with serve_scripted(backend) as (sdk, http, _):
        queued = await sdk.responses.create(model=MODEL, input="hello", background=True)
        done = await _wait_for(http, queued.id, {"completed", "failed"})
        follow_up = await sdk.responses.create(model=MODEL, input="again", previous_response_id=queued.id)
    assert queued.status == "queued" and queued.background is True
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "echo: hello"
    assert done["background"] is True and done["created_at"] == queued.created_at
    open_responses("ResponseResource", done)
    assert [m["role"] for m in backend.requests[-1]["messages"]] == ["user", "assistant", "user"]
    assert follow_up.status == "completed"


async def test_cancel_stops_a_background_response_and_it_stays_cancelled(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, http, _):
        queued = await sdk.responses.create(model=MODEL, input="answer slowly", background=True)
        await _wait_for(http, queued.id, {"in_progress"})
        cancelled = await sdk.responses.cancel(queued.id)
        await asyncio.sleep(3.5)  # longer than the backend takes: its answer must not land
        later = (await http.get(f"/v1/responses/{queued.id}")).json()
        again = await http.post(f"/v1/responses/{queued.id}/cancel")
        plain = await sdk.responses.create(model=MODEL, input="hi")
        not_background = await http.post(f"/v1/responses/{plain.id}/cancel")
    assert cancelled.status == "cancelled"
    assert later["status"] == "cancelled" and later["output"] == []
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert not_background.status_code == 400


async def test_a_response_still_running_cannot_be_continued(backend, serve_scripted):
    async with serve_scripted(backend) as (sdk, http, _):
        queued = await sdk.responses.create(model=MODEL, input="answer slowly", background=True)
        early = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "next", "previous_response_id": queued.id}
        )
        await _wait_for(http, queued.id, {"completed"})
    assert early.status_code == 400 and early.json()["error"]["param"] == "previous_response_id"


class Conversations:
    """The Conversations service as the Responses API calls it."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {
            "conv_1": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "I am Bo"}]}
            ]
        }

    async def get(self, conversation_id: str, owner: str | None) -> dict[str, Any]:
        if conversation_id not in self.items:
            raise NotFound(f"conversation {conversation_id!r} not found", param="conversation")
        return {"id": conversation_id, "object": "conversation"}

    async def items_for_context(self, conversation_id: str, owner: str | None) -> list[dict[str, Any]]:
        return list(self.items[conversation_id])

    async def append_items(
        self, conversation_id: str, items: list[dict[str, Any]], owner: str | None
    ) -> None:
        self.items[conversation_id] += items


async def test_a_conversation_gives_the_context_and_receives_the_new_items(backend, serve_scripted):
    conversations = Conversations()
    async with serve_scripted(backend) as (sdk, http, app):
        app.state.ogx.responses.conversations = conversations
        response = await sdk.responses.create(model=MODEL, input="who am I?", conversation="conv_1")
        streamed = await http.post(
            "/v1/responses",
            json={"model": MODEL, "input": "and now?", "conversation": {"id": "conv_1"}, "stream": True},
        )
        unknown = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "x", "conversation": "conv_nope"}
        )
    assert response.conversation.id == "conv_1"
    assert [m["content"] for m in backend.requests[0]["messages"]] == ["I am Bo", "who am I?"]
    assert streamed.status_code == 200
    texts = [part.get("text") for item in conversations.items["conv_1"] for part in item["content"]]
    assert texts == ["I am Bo", "who am I?", "echo: who am I?", "and now?", "echo: and now?"]
    assert unknown.status_code == 404


async def test_a_background_response_survives_its_worker_dying(
    backend, serve_scripted, open_responses, monkeypatch, tmp_path
):
    from ogx.jobs import JobRunner
    from ogx.storage import create_engine, resolve_storage_url, tables

    # The first server dies mid-answer: its runner gives the handler no time to finish. A stopping
    # server hands its jobs back, so the crash is made in the database between the two servers:
    # the job claimed by a worker whose lease has run out. (Made while the second server runs,
    # that server may already have taken the handed-back job, and would run it twice.)
    monkeypatch.setattr("ogx.server.app.JobRunner", functools.partial(JobRunner, shutdown_timeout=0.01))
    async with serve_scripted(backend) as (sdk, http, _):
        queued = await sdk.responses.create(model=MODEL, input="answer slowly", background=True)
        assert (await _wait_for(http, queued.id, {"in_progress"}))["status"] == "in_progress"
    monkeypatch.undo()
    engine = create_engine(resolve_storage_url(f"sqlite:///{tmp_path}/ogx.db", "test"))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                tables.jobs.update().values(
                    status="running", attempts=1, lease_owner="dead-worker", lease_expires_at=time.time() - 1
                )
            )
    finally:
        await engine.dispose()
    async with serve_scripted(backend) as (_, http, _app):
        done = await _wait_for(http, queued.id, {"completed", "failed", "cancelled"})
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "took my time"
    assert done["background"] is True and done["created_at"] == queued.created_at
    open_responses("ResponseResource", done)
    slow_calls = [r for r in backend.requests if "slowly" in str(r["messages"][-1]["content"])]
    assert len(slow_calls) == 2, "the job ran again in the restarted server"
