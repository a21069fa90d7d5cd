"""An inference provider that answers at once with the mock backend's own chat completion, for
measuring the CPU of OGX's own code per request (`handler_cpu.py`): no socket, no HTTP client.

It does what a real adapter does with the backend's answer, parse its JSON into fresh dicts, and
nothing else; it keeps no request (a growing list would change what the collector walks)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import payloads
from pydantic import BaseModel

from ogx_api import Api, ProviderSpec
from ogx_api.inference import ChatCompletionRequest, ModelType, ProviderModel
from ogx_api.provider import BaseProvider

PROVIDER_TYPE = "inline::bench-canned"
_ANSWER = payloads.chat_completion()


class CannedConfig(BaseModel):
    model: str = payloads.MODEL


class CannedProvider(BaseProvider):
    def __init__(self, config: CannedConfig, deps: dict[Any, Any] | None = None) -> None:
        self.config = config

    async def list_models(self) -> list[ProviderModel]:
        return [ProviderModel(provider_model_id=self.config.model, model_type=ModelType.llm)]

    async def chat_completion(self, request: ChatCompletionRequest) -> Any:
        request.backend_payload()  # what an OpenAI-compatible adapter sends
        # Wait for the backend as a real adapter does: the other requests in flight run
        # meanwhile, so each request's objects are no longer in the CPU's caches when it resumes.
        await asyncio.sleep(0)
        return orjson.loads(_ANSWER)


def canned_spec() -> ProviderSpec:
    return ProviderSpec(
        api=Api.inference,
        provider_type=PROVIDER_TYPE,
        config_class="canned_provider:CannedConfig",
        factory="canned_provider:CannedProvider",
        description="Answers every chat request with the mock backend's completion, in process",
    )
