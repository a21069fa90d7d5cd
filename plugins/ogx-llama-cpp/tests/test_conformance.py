"""`inline::llama-cpp` passes the inference conformance suite with the packaged Gemma model
loaded in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ogx_api.testing.inference import InferenceProviderConformance
from ogx_llama_cpp.config import LlamaCppConfig
from ogx_llama_cpp.provider import LlamaCppInferenceProvider, create_provider


@pytest.mark.integration
class TestLlamaCppConformance(InferenceProviderConformance):
    # Embeddings come from a sentence-embedding provider (inline::minilm); this provider's
    # optional Gemma embeddings are tested in test_in_process.py.
    supports_embeddings = False
    # Usage in streams is counted here, from the tokens llama.cpp evaluated and sampled.
    supports_streaming_usage = True

    @pytest.fixture
    async def provider(self) -> AsyncIterator[LlamaCppInferenceProvider]:
        provider = create_provider(LlamaCppConfig(n_ctx=2048), {})
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def chat_model_id(self) -> str:
        return "gemma3-270m"

    @pytest.fixture
    def embedding_model_id(self) -> str:
        # Unused (supports_embeddings is False), but the suite resolves the fixture before it skips.
        return "gemma3-270m-embed"
