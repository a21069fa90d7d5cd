"""The `remote::vllm` provider: the shared OpenAI-compatible adapter plus what vLLM adds."""

from __future__ import annotations

from typing import Any

import httpx

from ogx_api import Api
from ogx_api.inference import ProviderModel
from ogx_api.openai_compat import OpenAICompatInferenceAdapter
from ogx_vllm.config import VLLMConfig, VLLMProviderData


class VLLMInferenceAdapter(OpenAICompatInferenceAdapter):
    config: VLLMConfig
    provider_data_model = VLLMProviderData
    provider_data_api_key_field = "vllm_api_key"

    def describe_model(self, entry: dict[str, Any]) -> ProviderModel | None:
        model = super().describe_model(entry)
        # vLLM lists each model's context window as `max_model_len`.
        max_model_len = entry.get("max_model_len")
        if model is None or not isinstance(max_model_len, int):
            return model
        return model.model_copy(update={"metadata": {**model.metadata, "context_length": max_model_len}})


def create_provider(
    config: VLLMConfig, deps: dict[Api, object], *, client: httpx.AsyncClient | None = None
) -> VLLMInferenceAdapter:
    """The factory named in the `remote::vllm` spec; `client` lets tests inject a transport."""
    return VLLMInferenceAdapter(config, client=client)
