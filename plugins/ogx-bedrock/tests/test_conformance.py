"""`remote::bedrock` passes the inference conformance suite against `BedrockStub`, the local
server that speaks Bedrock Runtime's wire protocol (JSON Converse, event-stream ConverseStream,
InvokeModel, the control plane) and checks SigV4 — standing in for AWS, unreachable here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import botocore.session
import pytest
from bedrock_stub import CHAT_MODEL, COHERE_V3

from ogx_api.testing.inference import InferenceProviderConformance
from ogx_bedrock.adapter import BedrockInferenceAdapter, create_provider
from ogx_bedrock.config import BedrockConfig


@pytest.mark.integration
class TestBedrockConformance(InferenceProviderConformance):
    # Every capability is real here: Converse does tools (named tool choice included) and
    # reports usage in ConverseStream's metadata event; Titan and Cohere models embed; the
    # legacy completions endpoint is served by sending the prompt as one user turn.
    supports_completions = True
    supports_embeddings = True
    supports_tools = True
    supports_streaming_usage = True

    @pytest.fixture
    async def provider(
        self, config_for: Callable[..., BedrockConfig], botocore_session: botocore.session.Session
    ) -> AsyncIterator[BedrockInferenceAdapter]:
        provider = create_provider(config_for(), {}, session=botocore_session)
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def chat_model_id(self) -> str:
        return CHAT_MODEL

    @pytest.fixture
    def embedding_model_id(self) -> str:
        return COHERE_V3
