"""The Conversations API in-process: every endpoint, the item shapes OpenAI returns, pagination
in both orders, `include`, bad input as 400s naming the parameter, and per-owner isolation."""

from __future__ import annotations

import pytest

from ogx.conversations.schemas import components

MESSAGE = {"type": "message", "role": "user", "content": "hello"}


async def create(client, **body):
    response = await client.post("/v1/conversations", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_create_get_update_and_delete_a_conversation(serve):
    async with serve({}) as (client, _):
        conversation = await create(client, metadata={"topic": "demo"}, items=[MESSAGE])
        assert conversation["id"].startswith("conv_")
        assert conversation["object"] == "conversation"
        assert conversation["metadata"] == {"topic": "demo"}
        assert isinstance(conversation["created_at"], int)

        got = await client.get(f"/v1/conversations/{conversation['id']}")
        assert got.json() == conversation

        updated = await client.post(f"/v1/conversations/{conversation['id']}", json={"metadata": {"a": "b"}})
        assert updated.status_code == 200
        assert updated.json() == {**conversation, "metadata": {"a": "b"}}
        assert (await client.get(f"/v1/conversations/{conversation['id']}")).json()["metadata"] == {"a": "b"}

        deleted = await client.delete(f"/v1/conversations/{conversation['id']}")
        assert deleted.json() == {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
        gone = await client.get(f"/v1/conversations/{conversation['id']}")
        assert gone.status_code == 404
        assert gone.json()["error"]["param"] == "conversation_id"
        assert (await client.get(f"/v1/conversations/{conversation['id']}/items")).status_code == 404


async def test_an_empty_body_creates_an_empty_conversation(serve):
    async with serve({}) as (client, _):
        response = await client.post("/v1/conversations")
        assert response.status_code == 200
        assert response.json()["metadata"] == {}
        items = await client.get(f"/v1/conversations/{response.json()['id']}/items")
        assert items.json() == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }


async def test_items_are_stored_in_openai_output_shape(serve):
    items = [
        {"role": "user", "content": "what is 2+2?"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "and this"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
                {"type": "input_file", "file_id": "file-abc"},
            ],
        },
        {"type": "message", "role": "assistant", "content": "4"},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": '{"a": 2}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "4"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
        # Earlier output sent back as OpenAI's guides do: no id, no status, bare output_text.
        {"role": "assistant", "content": [{"type": "output_text", "text": "Sure."}]},
    ]
    async with serve({}) as (client, _):
        conversation = await create(client, items=items)
        listed = (await client.get(f"/v1/conversations/{conversation['id']}/items?order=asc")).json()
    data = listed["data"]
    assert [item["type"] for item in data] == [
        "message",
        "message",
        "message",
        "function_call",
        "function_call_output",
        "mcp_approval_response",
        "message",
    ]
    assert [item["id"].split("_")[0] for item in data] == ["msg", "msg", "msg", "fc", "fco", "mcpa", "msg"]
    assert data[6]["content"] == [{"type": "output_text", "text": "Sure.", "annotations": [], "logprobs": []}]
    assert data[0]["content"] == [{"type": "input_text", "text": "what is 2+2?"}]
    assert data[0]["status"] == "completed"
    assert data[1]["content"][1] == {
        "type": "input_image",
        "image_url": "https://example.com/a.png",
        "detail": "low",
    }
    assert data[2]["content"] == [{"type": "output_text", "text": "4", "annotations": [], "logprobs": []}]
    assert data[3] | {"id": None} == {
        "type": "function_call",
        "id": None,
        "call_id": "call_1",
        "name": "add",
        "arguments": '{"a": 2}',
        "status": "completed",
    }
    assert data[4]["output"] == "4" and data[4]["status"] == "completed"
    _assert_valid_conversation_items(data)


def _assert_valid_conversation_items(items):
    """Each item validates against OpenAI's `ConversationItem` schema."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    resource = DRAFT202012.create_resource({"components": {"schemas": components()}})
    registry = Registry().with_resource("urn:t", resource)
    validator = Draft202012Validator(
        {"$ref": "urn:t#/components/schemas/OpenAIConversationItem"}, registry=registry
    )
    for item in items:
        errors = list(validator.iter_errors(item))
        assert not errors, (item, [e.message for e in errors][:3])


async def test_add_get_and_delete_items(serve):
    async with serve({}) as (client, _):
        conversation = await create(client, items=[MESSAGE])
        base = f"/v1/conversations/{conversation['id']}"
        added = await client.post(
            f"{base}/items",
            json={"items": [{"role": "assistant", "content": "hi!"}, {"role": "user", "content": "bye"}]},
        )
        assert added.status_code == 200
        body = added.json()
        assert body["object"] == "list" and body["has_more"] is False
        assert [i["role"] for i in body["data"]] == ["assistant", "user"]
        assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][1]["id"]

        item_id = body["data"][0]["id"]
        got = await client.get(f"{base}/items/{item_id}")
        assert got.json() == body["data"][0]

        after_delete = await client.delete(f"{base}/items/{item_id}")
        assert after_delete.json() == conversation
        assert (await client.get(f"{base}/items/{item_id}")).status_code == 404
        again = await client.delete(f"{base}/items/{item_id}")
        assert again.status_code == 404 and again.json()["error"]["param"] == "item_id"
        remaining = (await client.get(f"{base}/items?order=asc")).json()["data"]
        assert [i["content"][0]["text"] for i in remaining] == ["hello", "bye"]


async def test_items_page_in_both_orders(serve):
    async with serve({}) as (client, _):
        conversation = await create(client)
        base = f"/v1/conversations/{conversation['id']}"
        for batch in range(3):  # 3 requests, so order holds across and within requests
            items = [{"role": "user", "content": f"m{batch * 5 + i}"} for i in range(5)]
            assert (await client.post(f"{base}/items", json={"items": items})).status_code == 200

        async def walk(order):
            texts, after = [], None
            while True:
                query = f"?order={order}&limit=4" + (f"&after={after}" if after else "")
                page = (await client.get(f"{base}/items{query}")).json()
                texts += [i["content"][0]["text"] for i in page["data"]]
                if not page["has_more"]:
                    return texts
                after = page["last_id"]

        ascending = [f"m{i}" for i in range(15)]
        assert await walk("asc") == ascending
        assert await walk("desc") == ascending[::-1]
        default = (await client.get(f"{base}/items")).json()
        assert [i["content"][0]["text"] for i in default["data"]] == ascending[::-1]  # desc, 15 < 20
        assert (await client.get(f"{base}/items?limit=0")).status_code == 400
        unknown_after = await client.get(f"{base}/items?after=msg_nope")
        assert unknown_after.status_code == 404 and unknown_after.json()["error"]["param"] == "after"


async def test_include_adds_fields_left_out_by_default(serve):
    output = {
        "type": "message",
        "id": "msg_out1",
        "status": "completed",
        "role": "assistant",
        "content": [
            {
                "type": "output_text",
                "text": "hi",
                "annotations": [],
                "logprobs": [{"token": "hi", "logprob": -0.1, "bytes": [104, 105], "top_logprobs": []}],
            }
        ],
    }
    search = {
        "type": "file_search_call",
        "id": "fs_1",
        "status": "completed",
        "queries": ["q"],
        "results": [{"file_id": "file-1", "text": "t"}],
    }
    async with serve({}) as (client, _):
        conversation = await create(client, items=[output, search])
        base = f"/v1/conversations/{conversation['id']}/items"
        plain = (await client.get(f"{base}?order=asc")).json()["data"]
        assert plain[0]["content"][0]["logprobs"] == [] and plain[1]["results"] is None
        full = await client.get(
            f"{base}?order=asc&include[]=message.output_text.logprobs&include[]=file_search_call.results"
        )
        assert full.json()["data"] == [output, search]
        one = await client.get(f"{base}/fs_1?include=file_search_call.results")
        assert one.json() == search
        bad = await client.get(f"{base}?include=everything")
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "include"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"items": [MESSAGE] * 21}, "items"),
        (
            {"items": [{"type": "message", "role": "user", "content": [{"type": "input_txt", "text": "x"}]}]},
            "items[0].content[0].type",
        ),
        (
            {"items": [{"type": "message", "role": "user", "content": [{"type": "input_text"}]}]},
            "items[0].content[0].text",
        ),
        ({"items": [MESSAGE, {"type": "function_call_output", "output": "4"}]}, "items[1].call_id"),
        (
            {"items": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}]},
            "items[0].arguments",
        ),
        ({"items": [{"type": "telepathy"}]}, "items[0].type"),
        ({"items": [{"role": "wizard", "content": "x"}]}, "items[0].role"),
        (
            {"items": [{"role": "assistant", "content": [{"type": "output_text"}]}]},
            "items[0].content[0].text",
        ),
        (
            {"items": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
            "items[0].content[0].type",
        ),
        ({"items": ["just text"]}, "items[0]"),
        ({"items": [{"content": "no role or type"}]}, "items[0].type"),
        ({"items": [{"type": "item_reference", "id": "msg_missing"}]}, "items[0].id"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(serve, body, param):
    async with serve({}) as (client, app):
        response = await client.post("/v1/conversations", json=body)
        assert response.status_code in (400, 404), response.text
        assert response.json()["error"]["param"] == param, response.json()
        conversations = app.state.ogx.conversations
        listed = await conversations._engine.connect()  # nothing half-written
        try:
            import sqlalchemy as sa

            count = (await listed.execute(sa.text("select count(*) from conversations"))).scalar()
        finally:
            await listed.close()
        assert count == 0


async def test_adding_items_validates_them_and_writes_nothing_on_error(serve):
    async with serve({}) as (client, _):
        conversation = await create(client, items=[MESSAGE])
        base = f"/v1/conversations/{conversation['id']}/items"
        bad = await client.post(base, json={"items": [MESSAGE, {"type": "function_call"}]})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "items[1].call_id"
        too_many = await client.post(base, json={"items": [MESSAGE] * 21})
        assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "items"
        missing = await client.post(base, json={})
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "items"
        assert len((await client.get(base)).json()["data"]) == 1
        unknown = await client.post("/v1/conversations/conv_nope/items", json={"items": [MESSAGE]})
        assert unknown.status_code == 404
        assert (await client.post("/v1/conversations/conv_nope", json={"metadata": {}})).status_code == 404
        assert (await client.delete("/v1/conversations/conv_nope")).status_code == 404


async def test_an_item_reference_copies_the_owners_item(serve):
    async with serve({}) as (client, _):
        first = await create(client, items=[MESSAGE])
        original = (await client.get(f"/v1/conversations/{first['id']}/items")).json()["data"][0]
        second = await create(client, items=[{"type": "item_reference", "id": original["id"]}])
        copied = (await client.get(f"/v1/conversations/{second['id']}/items")).json()["data"][0]
        assert copied["id"] != original["id"]
        assert copied | {"id": original["id"]} == original


async def test_each_owner_sees_only_their_conversations(serve, principal_from_header):
    alice, bob = {"x-test-principal": "alice"}, {"x-test-principal": "bob"}
    async with serve({}) as (client, app):
        app.add_middleware(principal_from_header)
        mine = (await client.post("/v1/conversations", json={"items": [MESSAGE]}, headers=alice)).json()
        base = f"/v1/conversations/{mine['id']}"
        item_id = (await client.get(f"{base}/items", headers=alice)).json()["data"][0]["id"]
        for method, path, body in [
            ("GET", base, None),
            ("POST", base, {"metadata": {}}),
            ("GET", f"{base}/items", None),
            ("POST", f"{base}/items", {"items": [MESSAGE]}),
            ("GET", f"{base}/items/{item_id}", None),
            ("DELETE", f"{base}/items/{item_id}", None),
            ("DELETE", base, None),
        ]:
            response = await client.request(method, path, json=body, headers=bob)
            assert response.status_code == 404, (method, path)
        # Bob cannot reference Alice's item either.
        ref = await client.post(
            "/v1/conversations", json={"items": [{"type": "item_reference", "id": item_id}]}, headers=bob
        )
        assert ref.status_code == 404
        assert (await client.get(f"{base}/items", headers=alice)).json()["data"][0]["id"] == item_id
        service = app.state.ogx.conversations
        assert [i["id"] for i in await service.items_for_context(mine["id"], "alice")] == [item_id]


async def test_the_service_for_the_responses_api(serve):
    from ogx_api import NotFound

    async with serve({}) as (client, app):
        service = app.state.ogx.conversations
        conversation = await create(client, items=[MESSAGE])
        appended = await service.append_items(
            conversation["id"],
            [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
                {
                    "type": "function_call",
                    "id": "fc_keep",
                    "call_id": "c1",
                    "name": "f",
                    "arguments": "{}",
                    "status": "completed",
                },
            ],
            None,
        )
        assert appended[0]["id"].startswith("msg_") and appended[1]["id"] == "fc_keep"
        context = await service.items_for_context(conversation["id"], None)
        assert [i["type"] for i in context] == ["message", "message", "function_call"]
        assert context[1:] == appended
        assert (await service.get(conversation["id"], None)) == conversation
        with pytest.raises(NotFound):
            await service.get(conversation["id"], "someone-else")
        with pytest.raises(NotFound):
            await service.append_items("conv_nope", [MESSAGE], None)
        _assert_valid_conversation_items(context)


@pytest.mark.integration
async def test_the_conversations_api_on_postgresql(serve, ogx_postgres_database):
    async with serve({"storage": {"url": ogx_postgres_database}}) as (client, app):
        conversation = await create(
            client, metadata={"k": "v"}, items=[MESSAGE, {"role": "assistant", "content": "hi"}]
        )
        base = f"/v1/conversations/{conversation['id']}"
        added = (await client.post(f"{base}/items", json={"items": [MESSAGE]})).json()["data"]
        listed = (await client.get(f"{base}/items?order=asc&limit=2")).json()
        rest = (await client.get(f"{base}/items?order=asc&after={listed['last_id']}")).json()
        duplicate = await client.post(f"{base}/items", json={"items": [{**MESSAGE, "id": added[0]["id"]}]})
        context = await app.state.ogx.conversations.items_for_context(conversation["id"], None)
        deleted = (await client.delete(base)).json()
    assert [i["role"] for i in listed["data"]] == ["user", "assistant"] and listed["has_more"]
    assert [i["id"] for i in rest["data"]] == [added[0]["id"]]
    assert duplicate.status_code == 400 and duplicate.json()["error"]["param"] == "items"
    assert len(context) == 3 and deleted["deleted"] is True
