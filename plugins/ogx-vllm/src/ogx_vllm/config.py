"""Configuration of the `remote::vllm` provider."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ogx_api.openai_compat import OpenAICompatConfig

DEFAULT_URL = "http://localhost:8000/v1"


def _api_key_from_env() -> SecretStr | None:
    key = os.environ.get("VLLM_API_KEY")
    return SecretStr(key) if key else None


class VLLMConfig(OpenAICompatConfig):
    """Where the vLLM server is and how to reach it.

    Unset fields fall back to the environment the vLLM server itself uses: `VLLM_URL` for
    `base_url` (else `http://localhost:8000/v1`, vLLM's default) and `VLLM_API_KEY` for
    `api_key` (the key `vllm serve` checks). Values in the run config always win.
    """

    base_url: str = Field(
        default_factory=lambda: os.environ.get("VLLM_URL") or DEFAULT_URL,
        validate_default=True,
        description=f"vLLM's OpenAI API root, `/v1` included. Default: env `VLLM_URL`, else `{DEFAULT_URL}`.",
    )
    api_key: SecretStr | None = Field(
        default_factory=_api_key_from_env,
        description="The key vLLM was started with (`--api-key`). Default: env `VLLM_API_KEY`, else none.",
    )
    send_max_tokens: bool = Field(
        default=True,
        description="Also send `max_completion_tokens` as `max_tokens`: vLLM reads either, servers "
        "that mimic it (llama.cpp's) only `max_tokens`.",
    )


class VLLMProviderData(BaseModel):
    """This provider's part of the `X-OGX-Provider-Data` request header."""

    model_config = ConfigDict(extra="ignore")

    vllm_api_key: SecretStr | None = Field(
        default=None, description="Used instead of `api_key` for this request."
    )
