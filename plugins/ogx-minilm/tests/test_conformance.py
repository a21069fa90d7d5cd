"""`inline::minilm` passes the inference conformance suite as an embeddings-only provider: the
chat tests are skipped by `supports_chat = False`, and the suite checks that chat is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ogx_api.testing.inference import InferenceProviderConformance
from ogx_minilm.config import MiniLMConfig
from ogx_minilm.provider import MiniLMEmbeddingsProvider, create_provider


class TestMiniLMConformance(InferenceProviderConformance):
    supports_chat = False

    @pytest.fixture
    async def provider(self) -> AsyncIterator[MiniLMEmbeddingsProvider]:
        provider = create_provider(MiniLMConfig(), {})
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def embedding_model_id(self) -> str:
        return "all-minilm-l6-v2"
