"""What serving a model in-process adds to the conformance suite, against the packaged Gemma:
exact usage in streams, queueing without blocking the event loop, prompt cancellation, the
queue bound, context overflow, forced tool calls and JSON output, and optional embeddings."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from llama_cpp import Llama

from ogx_api import InvalidRequest, NotFound, ProviderUnavailable, RateLimited
from ogx_api.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, ModelType
from ogx_llama_cpp.config import LlamaCppConfig
from ogx_llama_cpp.model_file import ensure_packaged_model
from ogx_llama_cpp.provider import LlamaCppInferenceProvider, create_provider

pytestmark = pytest.mark.integration

MODEL = "gemma3-270m"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string"}},
                "required": ["timezone"],
            },
        },
    },
]


@asynccontextmanager
async def started(**config: Any) -> AsyncIterator[LlamaCppInferenceProvider]:
    provider = create_provider(LlamaCppConfig.model_validate({"n_ctx": 2048, **config}), {})
    await provider.start()
    try:
        yield provider
    finally:
        await provider.close()


@pytest.fixture(scope="module")
def vocab() -> Llama:
    """The packaged model's tokenizer alone (no weights), to count tokens independently."""
    return Llama(model_path=str(ensure_packaged_model()), vocab_only=True, verbose=False)


def chat(**fields: Any) -> ChatCompletionRequest:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Name three colours of the rainbow."}],
        "temperature": 0,
        "max_tokens": 12,
    }
    return ChatCompletionRequest.model_validate(body | fields)


def endless(vocab: Llama, **fields: Any) -> CompletionRequest:
    """A completion that cannot end by itself before `max_tokens` (its end tokens are banned):
    minutes of work, unless cancellation stops it."""
    end_tokens = {vocab.token_eos(), *vocab.tokenize(b"<end_of_turn>", add_bos=False, special=True)}
    body = {
        "model": MODEL,
        "prompt": "Once upon a time",
        "temperature": 0,
        "max_tokens": 1900,
        "logit_bias": {str(token): -100 for token in end_tokens},
    }
    return CompletionRequest.model_validate(body | fields)


async def admitted_within(provider: LlamaCppInferenceProvider, seconds: float) -> float:
    """Seconds until a 1-token request is admitted (with max_queue=1: once the worker is free)."""
    start = time.monotonic()
    while True:
        try:
            await provider.completion(
                CompletionRequest(model=MODEL, prompt="Hi", max_tokens=1, temperature=0)
            )
            return time.monotonic() - start
        except RateLimited:
            if time.monotonic() - start > seconds:
                pytest.fail(f"the provider was still busy {seconds}s later: generation was not stopped")
            await asyncio.sleep(0.05)


# -- usage -----------------------------------------------------------------------------------


async def test_streamed_usage_equals_unstreamed_usage_and_counts_the_prompt_exactly(vocab: Llama) -> None:
    async with started() as provider:
        whole: Any = await provider.chat_completion(chat())
        chunks: list[Any] = [
            c
            async for c in provider.chat_completion_stream(
                chat(stream=True, stream_options={"include_usage": True})
            )
        ]
    assert chunks[-1]["usage"] == whole["usage"]
    streamed_text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert streamed_text == whole["choices"][0]["message"]["content"]
    # Gemma's chat format around the user's text, with the BOS token.
    prompt = "<start_of_turn>user\nName three colours of the rainbow.<end_of_turn>\n<start_of_turn>model\n"
    assert whole["usage"]["prompt_tokens"] == len(vocab.tokenize(prompt.encode(), add_bos=True, special=True))
    assert whole["usage"]["completion_tokens"] == 12


async def test_completion_stream_usage_counts_every_prompt(vocab: Llama) -> None:
    request = CompletionRequest(
        model=MODEL, prompt=["Once upon a time", "The capital of France is"], temperature=0, max_tokens=4
    )
    async with started() as provider:
        whole: Any = await provider.completion(request)
        streamed = CompletionRequest.model_validate(
            request.model_dump(exclude_unset=True)
            | {"stream": True, "stream_options": {"include_usage": True}}
        )
        chunks: list[Any] = [c async for c in provider.completion_stream(streamed)]
    assert [c["index"] for c in whole["choices"]] == [0, 1]
    expected_prompt = sum(len(vocab.tokenize(p.encode(), add_bos=True)) for p in request.prompt)  # type: ignore[union-attr]
    assert whole["usage"] == {
        "prompt_tokens": expected_prompt,
        "completion_tokens": 8,
        "total_tokens": expected_prompt + 8,
    }
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    for index in (0, 1):
        text = "".join(ch["text"] for c in chunks for ch in c["choices"] if ch["index"] == index)
        assert text == whole["choices"][index]["text"]


# -- concurrency -----------------------------------------------------------------------------


async def test_concurrent_requests_queue_and_the_event_loop_keeps_running() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def streamed(request: ChatCompletionRequest) -> str:
        parts = [c async for c in provider.chat_completion_stream(request)]
        return "".join(c["choices"][0]["delta"].get("content") or "" for c in parts if c["choices"])

    async with started(max_queue=8) as provider:
        expected = (await provider.chat_completion(chat(max_tokens=24)))["choices"][0]["message"]["content"]
        tick_task = asyncio.create_task(ticker())
        try:
            results: Any = await asyncio.gather(
                provider.chat_completion(chat(max_tokens=24)),
                streamed(chat(max_tokens=24, stream=True)),
                provider.chat_completion(chat(max_tokens=24)),
                provider.completion(
                    CompletionRequest(model=MODEL, prompt="Once upon a time", max_tokens=24, temperature=0)
                ),
            )
        finally:
            tick_task.cancel()
    # Queued requests are served one after the other, each as if alone (temperature 0).
    assert results[0]["choices"][0]["message"]["content"] == expected
    assert results[1] == expected
    assert results[2]["choices"][0]["message"]["content"] == expected
    assert results[3]["usage"]["completion_tokens"] >= 1
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20, "the ticker hardly ran: the event loop was blocked"
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f}s during generation"


async def test_requests_beyond_max_queue_are_refused_with_429(vocab: Llama) -> None:
    async with started(max_queue=2) as provider:
        running: Any = provider.completion_stream(endless(vocab, stream=True))
        await anext(running)
        waiting = asyncio.create_task(provider.completion(endless(vocab)))
        await asyncio.sleep(0.1)  # let it be admitted and queue behind the running one
        with pytest.raises(RateLimited) as caught:
            await provider.chat_completion(chat())
        assert caught.value.status_code == 429 and caught.value.retry_after
        refused_stream = provider.chat_completion_stream(chat(stream=True))
        with pytest.raises(RateLimited):
            await anext(refused_stream)
        waiting.cancel()
        await running.aclose()


# -- cancellation ----------------------------------------------------------------------------


async def test_closing_a_stream_stops_generation(vocab: Llama) -> None:
    async with started(max_queue=1) as provider:
        stream: Any = provider.completion_stream(endless(vocab, stream=True))
        for _ in range(3):
            await anext(stream)
        await stream.aclose()
        await admitted_within(provider, seconds=5)


async def test_cancelling_a_request_stops_generation(vocab: Llama) -> None:
    async with started(max_queue=1) as provider:
        task = asyncio.create_task(provider.completion(endless(vocab)))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await admitted_within(provider, seconds=5)


# -- errors ----------------------------------------------------------------------------------


async def test_a_prompt_longer_than_the_context_is_a_400_with_the_limit() -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * 80
    request = chat(messages=[{"role": "user", "content": long_text}])
    async with started(n_ctx=256) as provider:
        with pytest.raises(InvalidRequest) as caught:
            await provider.chat_completion(request)
        assert caught.value.status_code == 400
        assert caught.value.code == "context_length_exceeded"
        assert "256" in caught.value.message
        received = []
        with pytest.raises(InvalidRequest):
            async for chunk in provider.chat_completion_stream(chat(messages=request.messages, stream=True)):
                received.append(chunk)
        assert received == []
        # The provider still serves requests that fit.
        fits: Any = await provider.chat_completion(chat(max_tokens=2))
        assert fits["usage"]["completion_tokens"] == 2


async def test_unknown_model_is_not_found_and_a_closed_provider_is_unavailable() -> None:
    async with started() as provider:
        with pytest.raises(NotFound) as caught:
            await provider.chat_completion(chat(model="gpt-4o"))
        assert MODEL in caught.value.message
    with pytest.raises(ProviderUnavailable):
        await provider.chat_completion(chat())
    assert (await provider.health()).status != "OK"


# -- tools and JSON ------------------------------------------------------------------------


async def test_required_tool_choice_calls_one_of_the_tools_streamed_or_not() -> None:
    request = chat(
        messages=[{"role": "user", "content": "What time is it in Tokyo?"}],
        tools=TOOLS,
        tool_choice="required",
        max_tokens=40,
    )
    async with started() as provider:
        whole: Any = await provider.chat_completion(request)
        chunks: list[Any] = [
            c
            async for c in provider.chat_completion_stream(
                ChatCompletionRequest.model_validate(
                    request.model_dump(exclude_unset=True) | {"stream": True}
                )
            )
        ]
    choice = whole["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]  # type: ignore[misc]
    assert call["function"]["name"] in ("get_weather", "get_time")
    arguments = json.loads(call["function"]["arguments"])
    assert isinstance(arguments, dict)
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls") or []]
    assert deltas[0]["function"]["name"] == call["function"]["name"] and deltas[0]["id"]
    assert json.loads("".join(d["function"].get("arguments") or "" for d in deltas)) == arguments
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_auto_tool_choice_calls_tools_with_a_tool_calling_chat_format() -> None:
    """With `chatml-function-calling`, llama-cpp-python's handler decides to call a tool; it
    cannot stream that decision, so the streamed answer comes whole, in one chunk."""
    # A prompt this base model answers with a call (at temperature 0 it always does).
    request = chat(
        messages=[
            {"role": "system", "content": "You help."},
            {"role": "user", "content": "What is the weather in Paris?"},
        ],
        tools=TOOLS[:1],
        max_tokens=48,
    )
    streamed = ChatCompletionRequest.model_validate(
        request.model_dump(exclude_unset=True) | {"stream": True, "stream_options": {"include_usage": True}}
    )
    async with started(chat_format="chatml-function-calling") as provider:
        whole: Any = await provider.chat_completion(request)
        chunks: list[Any] = [c async for c in provider.chat_completion_stream(streamed)]
    choice = whole["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert isinstance(json.loads(call["function"]["arguments"]), dict)
    deltas = [d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [d["function"]["name"] for d in deltas] == ["get_weather"]
    assert json.loads(deltas[0]["function"]["arguments"]) == json.loads(call["function"]["arguments"])
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == whole["usage"]


async def test_json_schema_response_format_gives_matching_json() -> None:
    schema = {
        "type": "object",
        "properties": {
            "colour": {"type": "string", "enum": ["red", "green", "blue"]},
            "count": {"type": "integer"},
        },
        "required": ["colour", "count"],
        "additionalProperties": False,
    }
    request = chat(
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        max_tokens=40,
    )
    async with started() as provider:
        response: Any = await provider.chat_completion(request)
    answer = json.loads(response["choices"][0]["message"]["content"] or "")
    assert set(answer) == {"colour", "count"}
    assert answer["colour"] in ("red", "green", "blue") and isinstance(answer["count"], int)


# -- optional embeddings ---------------------------------------------------------------------


async def test_optional_embeddings_are_pooled_and_normalised() -> None:
    async with started(embedding=True) as provider:
        models = {m.provider_model_id: m for m in await provider.list_models()}
        embed = models["gemma3-270m-embed"]
        assert embed.model_type == ModelType.embedding
        floats: Any = await provider.embeddings(
            EmbeddingsRequest(model=embed.provider_model_id, input=["a cat", "a dog"])
        )
        packed: Any = await provider.embeddings(
            EmbeddingsRequest(
                model=embed.provider_model_id, input=["a cat", "a dog"], encoding_format="base64"
            )
        )
        # The chat model still answers beside its embedding context.
        fits: Any = await provider.chat_completion(chat(max_tokens=2))
        assert fits["usage"]["completion_tokens"] == 2
    dimension = embed.metadata["embedding_dimension"]
    for item, b64 in zip(floats["data"], packed["data"], strict=True):
        vector = item["embedding"]
        assert isinstance(vector, list) and len(vector) == dimension
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-4)
        decoded = struct.unpack(f"<{dimension}f", base64.b64decode(b64["embedding"]))  # type: ignore[arg-type]
        assert all(
            math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(decoded, vector, strict=True)
        )
    assert floats["usage"]["prompt_tokens"] >= 4


async def test_guided_grammar_output_equals_llama_cpp_pythons_grammar_sampling() -> None:
    """The cheap grammar check picks exactly the tokens llama-cpp-python's full-vocabulary
    grammar sampler picks (temperature 0)."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    messages: Any = [{"role": "user", "content": "Where is the Eiffel Tower?"}]
    reference: Any = Llama(
        model_path=str(ensure_packaged_model()), n_ctx=512, chat_format="gemma", verbose=False
    ).create_chat_completion(
        messages=messages,
        response_format={"type": "json_object", "schema": schema},
        temperature=0,
        max_tokens=8,
    )
    request = chat(
        messages=messages,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
        max_tokens=8,
    )
    async with started() as provider:
        response: Any = await provider.chat_completion(request)
    assert response["choices"][0]["message"]["content"] == reference["choices"][0]["message"]["content"]
