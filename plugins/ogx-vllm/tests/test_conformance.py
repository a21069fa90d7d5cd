"""`remote::vllm` passes the inference conformance suite against a real OpenAI-compatible
server: llama_cpp.server with a small Gemma model (vLLM itself needs a GPU)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ogx_api.testing.inference import InferenceProviderConformance
from ogx_api.testing.model_server import ModelServer
from ogx_vllm.adapter import VLLMInferenceAdapter, create_provider
from ogx_vllm.config import VLLMConfig


@pytest.mark.integration
class TestVLLMConformance(InferenceProviderConformance):
    # llama_cpp.server ignores `stream_options.include_usage`; vLLM honours it, but only a GPU
    # could show that here.
    supports_streaming_usage = False

    @pytest.fixture
    async def provider(self, ogx_model_server: ModelServer) -> AsyncIterator[VLLMInferenceAdapter]:
        provider = create_provider(VLLMConfig(base_url=ogx_model_server.base_url, api_key=None), {})
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def chat_model_id(self, ogx_model_server: ModelServer) -> str:
        return ogx_model_server.chat_model

    @pytest.fixture
    def embedding_model_id(self, ogx_model_server: ModelServer) -> str:
        return ogx_model_server.embedding_model
