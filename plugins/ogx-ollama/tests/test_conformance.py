"""`remote::ollama` against real HTTP: the inference conformance suite, and pulls at start.

No Ollama server can be installed here, so the Ollama in these tests is `ollama_stub.py`: it
speaks Ollama's native `/api/*` wire format and proxies `/v1` to a real OpenAI-compatible
model server (llama_cpp.server with Gemma 3 270M, the `ogx_model_server` fixture). Everything
the adapter sends goes over real sockets; the inference answers come from a real model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ogx_api import NotFound, ProviderError
from ogx_api.inference import ChatCompletionRequest, EmbeddingsRequest, ModelType
from ogx_api.testing.inference import InferenceProviderConformance
from ogx_ollama.adapter import OllamaInferenceAdapter, create_provider
from ogx_ollama.config import OllamaConfig

pytestmark = pytest.mark.integration


async def started(stub: Any, **config: Any) -> OllamaInferenceAdapter:
    provider = create_provider(
        OllamaConfig.model_validate({"base_url": stub.base_url, "api_key": None, **config}), {}
    )
    await provider.start()
    return provider


class TestOllamaConformance(InferenceProviderConformance):
    # llama_cpp.server, behind the stub, ignores `stream_options.include_usage` (Ollama itself
    # honours it since 0.5).
    supports_streaming_usage = False

    @pytest.fixture
    async def provider(
        self, ollama_stub: Any, embedding_model_id: str
    ) -> AsyncIterator[OllamaInferenceAdapter]:
        # Ollama starts with the chat model only: the first start pulls the embedding model.
        provider = await started(ollama_stub, pull_models=[embedding_model_id], keep_alive="10m")
        yield provider
        await provider.close()

    @pytest.fixture
    def chat_model_id(self) -> str:
        return "gemma3:270m"

    @pytest.fixture
    def embedding_model_id(self) -> str:
        return "gemma3-270m-embed:latest"


async def test_start_pulls_what_is_missing_then_serves_it(fresh_ollama_stub: Any) -> None:
    stub = fresh_ollama_stub
    provider = await started(stub, pull_models=["gemma3:270m", "gemma3-270m-embed"])
    try:
        assert stub.pulls == ["gemma3:270m", "gemma3-270m-embed"]
        models = {model.provider_model_id: model for model in await provider.list_models()}
        assert models["gemma3:270m"].model_type == ModelType.llm
        assert models["gemma3:270m"].metadata["context_length"] == 32768
        assert models["gemma3-270m-embed:latest"].model_type == ModelType.embedding
        assert models["gemma3-270m-embed:latest"].metadata["embedding_dimension"] == 640
        response = await provider.embeddings(EmbeddingsRequest(model="gemma3-270m-embed:latest", input="hi"))
        assert len(response["data"][0]["embedding"]) > 0
    finally:
        await provider.close()

    # A second start finds both in /api/tags and pulls nothing.
    again = await started(stub, pull_models=["gemma3:270m", "gemma3-270m-embed:latest"])
    await again.close()
    assert stub.pulls == ["gemma3:270m", "gemma3-270m-embed"]


async def test_a_model_not_pulled_is_not_found(fresh_ollama_stub: Any) -> None:
    provider = await started(fresh_ollama_stub)
    try:
        assert await provider.list_models() == []
        request = ChatCompletionRequest.model_validate(
            {"model": "gemma3:270m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
        )
        with pytest.raises(NotFound, match="model 'gemma3:270m' not found"):
            await provider.chat_completion(request)
    finally:
        await provider.close()


async def test_an_unknown_or_failing_pull_fails_the_start(fresh_ollama_stub: Any) -> None:
    with pytest.raises(ProviderError, match="'no-such-model:7b': pull model manifest: file does not exist"):
        await started(fresh_ollama_stub, pull_models=["no-such-model:7b"])
    with pytest.raises(ProviderError, match="'broken:1b': max retries exceeded: unexpected EOF"):
        await started(fresh_ollama_stub, pull_models=["broken:1b"])
    assert fresh_ollama_stub.tags() == {"models": []}


async def test_keep_alive_reaches_ollama(fresh_ollama_stub: Any) -> None:
    provider = await started(fresh_ollama_stub, pull_models=["gemma3:270m"], keep_alive="24h")
    try:
        request = ChatCompletionRequest.model_validate(
            {
                "model": "gemma3:270m",
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 2,
                "temperature": 0,
            }
        )
        await provider.chat_completion(request)
        [_ async for _ in provider.chat_completion_stream(request.model_copy(update={"stream": True}))]
    finally:
        await provider.close()
    assert fresh_ollama_stub.keep_alive_seen == ["24h", "24h"]
