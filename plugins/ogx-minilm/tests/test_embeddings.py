"""Real embeddings from the packaged model: they match sentence-transformers' float32 output,
keep the OpenAI contract (order, base64, usage, errors) and never block the event loop."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ogx_api import InvalidRequest, NotFound, NotImplementedByProvider, ProviderUnavailable
from ogx_api.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, ModelType
from ogx_minilm.config import MiniLMConfig
from ogx_minilm.provider import MiniLMEmbeddingsProvider, create_provider

MODEL = "all-minilm-l6-v2"
REFERENCE = json.loads((Path(__file__).parent / "data" / "reference_embeddings.json").read_text())


@pytest.fixture
async def provider() -> AsyncIterator[MiniLMEmbeddingsProvider]:
    provider = create_provider(MiniLMConfig(batch_size=4), {})
    await provider.start()
    yield provider
    await provider.close()


async def embed(
    provider: MiniLMEmbeddingsProvider, texts: list[str] | str, **fields: Any
) -> list[list[float]]:
    response = await provider.embeddings(EmbeddingsRequest(model=MODEL, input=texts, **fields))
    assert [item["index"] for item in response["data"]] == list(range(len(response["data"])))
    return [item["embedding"] for item in response["data"]]  # type: ignore[misc]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


async def test_lists_one_embedding_model_of_384_dimensions(provider: MiniLMEmbeddingsProvider) -> None:
    (model,) = await provider.list_models()
    assert model.provider_model_id == MODEL
    assert model.model_type == ModelType.embedding
    assert model.metadata == {"embedding_dimension": 384, "context_length": 256}
    assert (await provider.health()).status == "OK"


async def test_vectors_match_sentence_transformers_float32(provider: MiniLMEmbeddingsProvider) -> None:
    """The int8 ONNX model with our pooling gives (nearly) the reference vectors, for English,
    accented and Chinese text and for an input truncated at 256 word pieces."""
    items = REFERENCE["items"]
    response = await provider.embeddings(
        EmbeddingsRequest(model=MODEL, input=[item["text"] for item in items])
    )
    for item, got in zip(items, response["data"], strict=True):
        vector = got["embedding"]
        assert isinstance(vector, list) and len(vector) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-5)
        assert cosine(vector, item["embedding"]) >= 0.99, item["text"][:40]
    # Usage counts the word pieces the model read: [CLS] and [SEP] included, truncation applied.
    assert response["usage"]["prompt_tokens"] == sum(item["tokens"] for item in items)
    assert response["usage"]["total_tokens"] == response["usage"]["prompt_tokens"]


async def test_similar_sentences_are_closer_than_unrelated_ones(provider: MiniLMEmbeddingsProvider) -> None:
    cat, kitten, revenue = await embed(
        provider,
        ["The cat sat on the mat.", "A kitten is resting on a rug.", "Quarterly revenue grew by 4%."],
    )
    assert cosine(cat, kitten) > cosine(cat, revenue) + 0.3


async def test_batches_keep_the_input_order(provider: MiniLMEmbeddingsProvider) -> None:
    """Inputs are regrouped by length into batches of 4; each answer is still at its index, and
    batching changes no vector."""
    texts = [f"{'very ' * (i * 7 % 11)}short sentence number {i}" for i in range(11)]
    together = await embed(provider, texts)
    for text, vector in zip(texts, together, strict=True):
        (alone,) = await embed(provider, text)
        assert cosine(alone, vector) > 0.9999, text


async def test_base64_is_little_endian_float32_of_the_same_vector(provider: MiniLMEmbeddingsProvider) -> None:
    (floats,) = await embed(provider, "hello world")
    (packed,) = await embed(provider, "hello world", encoding_format="base64")
    assert isinstance(packed, str)
    decoded = struct.unpack("<384f", base64.b64decode(packed))
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-8) for a, b in zip(decoded, floats, strict=True))


async def test_dimensions_must_be_the_models_own(provider: MiniLMEmbeddingsProvider) -> None:
    assert len((await embed(provider, "hi", dimensions=384))[0]) == 384
    with pytest.raises(InvalidRequest) as caught:
        await embed(provider, "hi", dimensions=128)
    assert caught.value.param == "dimensions" and "384" in caught.value.message


@pytest.mark.parametrize(
    ("payload", "param"),
    [([101, 7592, 102], "input"), ([[101, 7592, 102]], "input"), (["ok", ""], "input[1]"), ([], "input")],
)
async def test_inputs_it_cannot_embed_are_invalid(
    provider: MiniLMEmbeddingsProvider, payload: Any, param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await provider.embeddings(EmbeddingsRequest(model=MODEL, input=payload))
    assert caught.value.param == param and caught.value.status_code == 400


async def test_unknown_model_is_not_found(provider: MiniLMEmbeddingsProvider) -> None:
    with pytest.raises(NotFound) as caught:
        await provider.embeddings(EmbeddingsRequest(model="text-embedding-3-small", input="hi"))
    assert MODEL in caught.value.message


async def test_chat_and_completions_are_not_offered(provider: MiniLMEmbeddingsProvider) -> None:
    chat = ChatCompletionRequest(model=MODEL, messages=[{"role": "user", "content": "hi"}])  # type: ignore[list-item]
    with pytest.raises(NotImplementedByProvider) as caught:
        await provider.chat_completion(chat)
    assert caught.value.status_code == 501
    with pytest.raises(NotImplementedByProvider):
        await anext(provider.chat_completion_stream(chat))
    with pytest.raises(NotImplementedByProvider):
        await provider.completion(CompletionRequest(model=MODEL, prompt="hi"))
    with pytest.raises(NotImplementedByProvider):
        await anext(provider.completion_stream(CompletionRequest(model=MODEL, prompt="hi")))


async def test_a_closed_provider_is_unavailable() -> None:
    provider = create_provider(MiniLMConfig(), {})
    await provider.start()
    await provider.close()
    with pytest.raises(ProviderUnavailable):
        await embed(provider, "hi")


async def test_a_missing_model_file_fails_start_naming_the_field(tmp_path: Path) -> None:
    provider = create_provider(MiniLMConfig(model_path=tmp_path / "nope.onnx"), {})
    with pytest.raises(ProviderUnavailable, match="model_path"):
        await provider.start()


async def test_the_event_loop_keeps_running_while_embedding(provider: MiniLMEmbeddingsProvider) -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.005)

    texts = [f"Sentence {i} about embeddings, vectors and the similarity of meaning." for i in range(256)]
    task = asyncio.create_task(ticker())
    try:
        start = time.monotonic()
        await embed(provider, texts)
        elapsed = time.monotonic() - start
    finally:
        task.cancel()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert elapsed > 0.05, "too little work to tell"
    assert max(gaps) < 0.25, f"the event loop stalled for {max(gaps):.3f}s while embedding for {elapsed:.2f}s"


@pytest.mark.parametrize(("allow_spinning", "entry"), [(False, "0"), (True, "1")])
async def test_onnx_runtime_threads_spin_only_when_asked(allow_spinning: bool, entry: str) -> None:
    provider = create_provider(MiniLMConfig(allow_spinning=allow_spinning), {})
    await provider.start()
    try:
        options = provider._loaded()._session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == entry
        result = await provider.embeddings(EmbeddingsRequest(model="all-minilm-l6-v2", input="hello"))
        assert len(result["data"][0]["embedding"]) == 384
    finally:
        await provider.close()
