"""The OpenAI SDK against `ogx run` with ogx-vllm in front of a real model server.

The model is a small *base* model, so its text is not meaningful: these tests assert what a
client sees of the API (shapes, streaming, usage, errors), not the content."""

from __future__ import annotations

import openai
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(vllm_ogx):
    with openai.OpenAI(
        base_url=vllm_ogx.openai_base_url, api_key="unused", max_retries=0, timeout=120
    ) as client:
        yield client


def test_models_list_and_retrieve(client):
    ids = [m.id for m in client.models.list()]
    assert "gemma" in ids and "gemma-embed" in ids
    model = client.models.retrieve("gemma")
    assert model.id == "gemma" and model.object == "model" and model.owned_by == "vllm"


def test_models_discovered_from_the_backend_are_routable_by_provider_prefixed_id(client):
    completion = client.chat.completions.create(
        model="vllm/gemma3-270m", messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0
    )
    assert completion.model == "vllm/gemma3-270m"
    assert client.models.retrieve("vllm/gemma3-270m").id in ("gemma", "vllm/gemma3-270m")


def test_chat_completion(client):
    completion = client.chat.completions.create(
        model="gemma",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
        max_tokens=8,
        temperature=0,
    )
    assert completion.object == "chat.completion"
    assert completion.model == "gemma"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage.completion_tokens > 0
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_max_tokens_bound_ends_with_length(client):
    completion = client.chat.completions.create(
        model="gemma",
        messages=[{"role": "user", "content": "Count to one hundred."}],
        max_tokens=3,
        temperature=0,
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens <= 3


def test_streamed_chat_completion_gives_deltas_and_final_usage(client):
    stream = client.chat.completions.create(
        model="gemma",
        messages=[{"role": "user", "content": "Tell me a story."}],
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) >= 2, "tokens arrive as separate deltas"
    assert all(c.model == "gemma" for c in chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12


def test_completion(client):
    completion = client.completions.create(
        model="gemma", prompt="Once upon a time", max_tokens=5, temperature=0
    )
    assert completion.object == "text_completion"
    assert completion.choices[0].text
    assert completion.model == "gemma"


def test_embeddings(client):
    response = client.embeddings.create(model="gemma-embed", input=["the cat sat", "on the mat"])
    assert [d.index for d in response.data] == [0, 1]
    assert all(len(d.embedding) == 640 for d in response.data)
    assert response.data[0].embedding != response.data[1].embedding
    assert response.model == "gemma-embed"


def test_unknown_model_is_404_listing_the_models(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    error = caught.value.body
    assert error["code"] == "model_not_found"
    assert "gemma" in error["message"]


def test_malformed_body_is_400_naming_the_field(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gemma", messages=[{"role": "user", "content": "Hi"}], temperature=5
        )
    assert caught.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gemma", messages=[{"role": "assistant", "tool_calls": [{"id": "1"}]}]
        )
    assert caught.value.body["param"].startswith("messages[0].tool_calls[0]")


def test_no_request_ended_in_a_server_error(client, vllm_ogx):
    client.models.list()
    vllm_ogx.assert_no_server_errors()
