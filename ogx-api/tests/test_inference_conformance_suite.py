"""The inference conformance suite itself: it passes against a correct (scripted) OpenAI backend,
capabilities included that the real test model server lacks, and each check fails when the
backend breaks the behaviour it guards."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ogx_api.openai_compat import OpenAICompatConfig, OpenAICompatInferenceAdapter
from ogx_api.testing.inference import InferenceProviderConformance

CHAT_MODEL = "scripted-chat"
EMBEDDING_MODEL = "scripted-embed"


class ScriptedBackend:
    """A tiny deterministic OpenAI server; `broken` names one behaviour to get wrong."""

    def __init__(self, broken: str | None = None) -> None:
        self.broken = broken

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            data = [
                {"id": model, "object": "model", "created": 0, "owned_by": "me"}
                for model in (CHAT_MODEL, EMBEDDING_MODEL)
            ]
            return httpx.Response(200, json={"object": "list", "data": data})
        body = json.loads(request.content)
        if request.url.path == "/v1/embeddings":
            return httpx.Response(200, json=self.embeddings(body))
        if request.url.path == "/v1/chat/completions":
            choice = body.get("tool_choice")
            if isinstance(choice, dict):
                names = [tool["function"]["name"] for tool in body.get("tools", [])]
                if choice["function"]["name"] not in names and self.broken != "accepts_invalid":
                    return httpx.Response(400, json={"error": {"message": "tool_choice names no tool"}})
            return self.answer(body, chat=True)
        return self.answer(body, chat=False)

    def answer(self, body: dict[str, Any], *, chat: bool) -> httpx.Response:
        max_tokens = body.get("max_tokens", 16)
        tokens = ["tok "] * (max_tokens if self.broken != "ignores_max_tokens" else max_tokens + 5)
        finish = "length"
        usage = {"prompt_tokens": 4, "completion_tokens": len(tokens), "total_tokens": 4 + len(tokens)}
        tool_call = None
        if chat and isinstance(body.get("tool_choice"), dict):
            name = body["tool_choice"]["function"]["name"]
            tool_call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": '{"city": "Paris"}'},
            }
            finish = "tool_calls"
        kind = "chat.completion" if chat else "text_completion"
        if not body.get("stream"):
            if chat:
                message = {"role": "assistant", "content": None if tool_call else "".join(tokens)}
                if tool_call:
                    message["tool_calls"] = [tool_call]
                choice = {"index": 0, "message": message, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": "".join(tokens), "finish_reason": finish, "logprobs": None}
            completion = {
                "id": "x-1",
                "object": kind,
                "created": 1,
                "model": body["model"],
                "choices": [choice],
                "usage": usage,
            }
            if self.broken == "wrong_object":
                completion["object"] = "chat.completions"
            return httpx.Response(200, json=completion)
        kind += ".chunk" if chat else ""
        events = []
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            part = {"delta": {"content": token}} if chat else {"text": token, "logprobs": None}
            choice = {"index": 0, **part, "finish_reason": finish if last else None}
            chunk_id = f"x-{i}" if self.broken == "unstable_ids" else "x-1"
            events.append(
                {"id": chunk_id, "object": kind, "created": 1, "model": body["model"], "choices": [choice]}
            )
        if (body.get("stream_options") or {}).get("include_usage") and self.broken != "drops_usage":
            events.append(
                {
                    "id": "x-1",
                    "object": kind,
                    "created": 1,
                    "model": body["model"],
                    "choices": [],
                    "usage": usage,
                }
            )
        sse = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        return httpx.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors: list[Any] = [_vector(text) for text in inputs]
        if self.broken == "per_token":
            vectors = [[vector, vector] for vector in vectors]
        data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        if self.broken == "reordered":
            data.reverse()
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }


def _vector(text: str, dimension: int = 8) -> list[float]:
    rng = random.Random(text)
    return [rng.uniform(-1, 1) for _ in range(dimension)]


async def started(client: httpx.AsyncClient) -> OpenAICompatInferenceAdapter:
    provider = OpenAICompatInferenceAdapter(
        OpenAICompatConfig(base_url="http://scripted.test/v1"), client=client
    )
    await provider.start()
    return provider


class TestScriptedBackendPassesTheSuite(InferenceProviderConformance):
    @pytest.fixture
    async def provider(self) -> AsyncIterator[OpenAICompatInferenceAdapter]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(ScriptedBackend())) as client:
            provider = await started(client)
            yield provider
            await provider.close()

    @pytest.fixture
    def chat_model_id(self) -> str:
        return CHAT_MODEL

    @pytest.fixture
    def embedding_model_id(self) -> str:
        return EMBEDDING_MODEL


@pytest.mark.parametrize(
    ("broken", "test_name", "model"),
    [
        ("wrong_object", "test_chat_completion", CHAT_MODEL),
        ("ignores_max_tokens", "test_chat_completion_honours_max_tokens", CHAT_MODEL),
        ("unstable_ids", "test_chat_completion_stream", CHAT_MODEL),
        ("drops_usage", "test_chat_completion_stream_include_usage", CHAT_MODEL),
        ("accepts_invalid", "test_invalid_request_raises_typed_error", CHAT_MODEL),
        ("accepts_invalid", "test_invalid_stream_request_raises_before_first_chunk", CHAT_MODEL),
        ("per_token", "test_embeddings", EMBEDDING_MODEL),
        ("reordered", "test_embeddings", EMBEDDING_MODEL),
    ],
)
async def test_the_suite_fails_a_backend_that_breaks_the_behaviour(
    broken: str, test_name: str, model: str
) -> None:
    backend = ScriptedBackend(broken)
    async with httpx.AsyncClient(transport=httpx.MockTransport(backend)) as client:
        provider = await started(client)
        check = getattr(InferenceProviderConformance(), test_name)
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            await check(provider, model)


async def test_capability_flags_skip_their_tests() -> None:
    class WithoutEmbeddings(InferenceProviderConformance):
        supports_embeddings = False

    with pytest.raises(pytest.skip.Exception, match="supports_embeddings"):
        await WithoutEmbeddings().test_embeddings(object(), EMBEDDING_MODEL)  # type: ignore[arg-type]


async def test_without_chat_the_chat_tests_skip_and_the_refusal_is_checked() -> None:
    class EmbeddingsOnly(InferenceProviderConformance):
        supports_chat = False

    suite = EmbeddingsOnly()
    for name in ("test_chat_completion", "test_completion", "test_named_tool_choice_calls_the_tool"):
        with pytest.raises(pytest.skip.Exception, match="supports_chat"):
            await getattr(suite, name)(object(), "any-model")
    with pytest.raises(pytest.skip.Exception, match="supports_chat is True"):
        await InferenceProviderConformance().test_chat_is_refused_with_a_typed_error(object(), "m")  # type: ignore[arg-type]


async def test_the_refusal_check_fails_a_provider_that_answers_chat() -> None:
    backend = ScriptedBackend()
    async with httpx.AsyncClient(transport=httpx.MockTransport(backend)) as client:
        provider = await started(client)

        class ClaimsNoChat(InferenceProviderConformance):
            supports_chat = False

        with pytest.raises(pytest.fail.Exception):
            await ClaimsNoChat().test_chat_is_refused_with_a_typed_error(provider, CHAT_MODEL)
