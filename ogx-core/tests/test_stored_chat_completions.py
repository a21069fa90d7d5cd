"""Stored chat completions: `store: true` on create, then list, read, update, delete."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio


def chat(text: str, **extra):
    return {"model": "fake/fake-llm", "messages": [{"role": "user", "content": text}], **extra}


async def test_only_completions_created_with_store_are_stored(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        stored = (await client.post("/v1/chat/completions", json=chat("keep", store=True))).json()
        await client.post("/v1/chat/completions", json=chat("forget"))
        listed = (await client.get("/v1/chat/completions")).json()
        one = (await client.get(f"/v1/chat/completions/{stored['id']}")).json()
    assert [c["id"] for c in listed["data"]] == [stored["id"]]
    assert listed["first_id"] == listed["last_id"] == stored["id"] and listed["has_more"] is False
    assert one["choices"] == stored["choices"] and one["model"] == "fake/fake-llm"


async def test_each_stored_completion_has_its_own_id(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        ids = {
            (await client.post("/v1/chat/completions", json=chat(f"m{i}", store=True))).json()["id"]
            for i in range(3)
        }
    assert len(ids) == 3, "the fake backend answers with one constant id; stored ones must differ"


async def test_streamed_completion_is_stored_assembled(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(
            "/v1/chat/completions", json=chat("hello there", store=True, stream=True)
        )
        ids = {line for line in response.text.split("\n") if '"id"' in line}
        listed = (await client.get("/v1/chat/completions")).json()["data"]
    assert len(listed) == 1
    assert listed[0]["choices"][0]["message"]["content"] == "echo: hello there"
    assert listed[0]["choices"][0]["finish_reason"] == "stop"
    assert all(listed[0]["id"] in line for line in ids), "every chunk carries the stored id"


async def test_pagination_order_and_model_and_metadata_filters(serve, fake_inference):
    tree = fake_inference(llm_models=["a", "b"])
    async with serve(tree) as (client, _):
        created = []
        for i in range(5):
            body = chat(f"m{i}", store=True, metadata={"team": "x" if i % 2 else "y"})
            body["model"] = "fake/a" if i < 3 else "fake/b"
            created.append((await client.post("/v1/chat/completions", json=body)).json()["id"])
        first = (await client.get("/v1/chat/completions", params={"limit": 2})).json()
        second = (
            await client.get("/v1/chat/completions", params={"limit": 2, "after": first["last_id"]})
        ).json()
        newest = (await client.get("/v1/chat/completions", params={"order": "desc", "limit": 1})).json()
        only_b = (await client.get("/v1/chat/completions", params={"model": "fake/b"})).json()
        team_x = (await client.get("/v1/chat/completions", params={"metadata[team]": "x"})).json()
        bad_limit = await client.get("/v1/chat/completions", params={"limit": 0})
        bad_after = await client.get("/v1/chat/completions", params={"after": "nope"})
    assert [c["id"] for c in first["data"]] == created[:2] and first["has_more"]
    assert [c["id"] for c in second["data"]] == created[2:4]
    assert [c["id"] for c in newest["data"]] == [created[-1]]
    assert [c["id"] for c in only_b["data"]] == created[3:]
    assert [c["id"] for c in team_x["data"]] == [created[1], created[3]]
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["param"] == "limit"
    assert bad_after.status_code == 404


async def test_messages_update_and_delete(serve, fake_inference):
    body = {
        "model": "fake/fake-llm",
        "store": True,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    }
    async with serve(fake_inference()) as (client, _):
        completion_id = (await client.post("/v1/chat/completions", json=body)).json()["id"]
        messages = (await client.get(f"/v1/chat/completions/{completion_id}/messages")).json()
        updated = (
            await client.post(f"/v1/chat/completions/{completion_id}", json={"metadata": {"k": "v"}})
        ).json()
        deleted = (await client.delete(f"/v1/chat/completions/{completion_id}")).json()
        gone = await client.get(f"/v1/chat/completions/{completion_id}")
    assert [(m["role"], m["content"]) for m in messages["data"]] == [("system", "be brief"), ("user", "hi")]
    assert messages["data"][0]["id"] == f"{completion_id}-0"
    assert updated["metadata"] == {"k": "v"}
    assert deleted == {"object": "chat.completion.deleted", "id": completion_id, "deleted": True}
    assert gone.status_code == 404 and gone.json()["error"]["param"] == "completion_id"


async def test_stored_messages_and_completions_have_openais_shape(serve, fake_inference):
    parts = [
        {"type": "text", "text": "What is"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this?"},
    ]
    body = {"model": "fake/fake-llm", "store": True, "messages": [{"role": "user", "content": parts}]}
    async with serve(fake_inference()) as (client, _):
        created = (await client.post("/v1/chat/completions", json=body)).json()
        messages = (await client.get(f"/v1/chat/completions/{created['id']}/messages")).json()
        stored = (await client.get(f"/v1/chat/completions/{created['id']}")).json()
    (message,) = messages["data"]
    assert message["content"] == "What is\nthis?" and message["content_parts"] == parts
    assert message["refusal"] is None
    for completion in (created, stored):
        choice = completion["choices"][0]
        assert choice["logprobs"] is None, "always present, as OpenAI sends it"
        assert choice["message"]["refusal"] is None and choice["message"]["annotations"] == []


async def test_stored_completions_survive_a_restart(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        completion_id = (await client.post("/v1/chat/completions", json=chat("keep", store=True))).json()[
            "id"
        ]
    async with serve(fake_inference()) as (client, _):
        assert (await client.get(f"/v1/chat/completions/{completion_id}")).status_code == 200


@pytest.mark.parametrize(
    "metadata",
    [{f"k{i}": "v" for i in range(17)}, {"k" * 65: "v"}, {"k": "v" * 513}, {"k": "a\x00b"}],
    ids=["17-pairs", "long-key", "long-value", "nul"],
)
async def test_metadata_beyond_openais_limits_is_400(serve, fake_inference, metadata):
    async with serve(fake_inference()) as (client, _):
        created = await client.post("/v1/chat/completions", json=chat("x", store=True, metadata=metadata))
    assert created.status_code == 400
    assert created.json()["error"]["param"] == "metadata"
