"""The Conversations API end to end: the official `openai` SDK (`client.conversations.*`)
against `ogx run`, parsing every answer into its own types."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(ogx_runner, tmp_path_factory) -> Iterator[openai.OpenAI]:
    config = {"version": 2, "name": "e2e-conversations"}
    with ogx_runner(config, tmp_path_factory.mktemp("ogx-conversations")) as server:
        yield openai.OpenAI(base_url=server.openai_base_url, api_key="unused", max_retries=0)
        server.assert_no_server_errors()


def test_a_conversation_through_the_sdk(client: openai.OpenAI) -> None:
    conversation = client.conversations.create(
        metadata={"topic": "e2e"}, items=[{"type": "message", "role": "user", "content": "Hello!"}]
    )
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "e2e"}
    assert client.conversations.retrieve(conversation.id).id == conversation.id
    assert client.conversations.update(conversation.id, metadata={"topic": "changed"}).metadata == {
        "topic": "changed"
    }

    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "assistant", "content": "Hi, how can I help?"},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        ],
        include=["message.output_text.logprobs"],
    )
    assert [item.type for item in added.data] == ["message", "function_call_output"]
    assistant = added.data[0]
    assert assistant.content[0].type == "output_text" and assistant.content[0].text == "Hi, how can I help?"

    page = client.conversations.items.list(conversation.id, limit=2, order="asc")
    assert [item.id for item in page.data][1] == assistant.id and page.has_more
    everything = [item.id for item in client.conversations.items.list(conversation.id, limit=1, order="asc")]
    assert len(everything) == 3 and everything[1:] == [i.id for i in added.data]  # auto-paginated

    got = client.conversations.items.retrieve(assistant.id, conversation_id=conversation.id)
    assert got.id == assistant.id and got.role == "assistant"
    after_delete = client.conversations.items.delete(assistant.id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(assistant.id, conversation_id=conversation.id)

    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)


def test_bad_items_are_rejected_with_the_parameter_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.conversations.create(items=[{"type": "function_call_output", "output": "no call id"}])
    assert raised.value.body["param"] == "items[0].call_id"
    with pytest.raises(openai.BadRequestError) as raised:
        client.conversations.create(items=[{"role": "user", "content": "x"}] * 21)
    assert raised.value.body["param"] == "items"
