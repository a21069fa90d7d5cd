"""Configuration of the `remote::ollama` provider."""

from __future__ import annotations

import os
import re

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ogx_api.openai_compat import OpenAICompatConfig

DEFAULT_URL = "http://localhost:11434/v1"

# Go's time.ParseDuration syntax, which Ollama uses for string `keep_alive` values: "5m", "1h30m", "-1s".
_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_WHOLE_SECONDS = re.compile(r"^[-+]?\d+$")


def _api_key_from_env() -> SecretStr | None:
    key = os.environ.get("OLLAMA_API_KEY")
    return SecretStr(key) if key else None


class OllamaConfig(OpenAICompatConfig):
    """Where the Ollama server is, which models it must have, and how long it keeps them loaded.

    `base_url` defaults to env `OLLAMA_URL`, else `http://localhost:11434/v1` (Ollama's default
    port). Either form of the address works: `http://host:11434` or `http://host:11434/v1`;
    inference goes to `<root>/v1/...` and model discovery and pulls to `<root>/api/...`. Values
    in the run config always win over the environment.
    """

    base_url: str = Field(
        default_factory=lambda: os.environ.get("OLLAMA_URL") or DEFAULT_URL,
        validate_default=True,
        description="Ollama's address, with or without the `/v1` suffix. "
        f"Default: env `OLLAMA_URL`, else `{DEFAULT_URL}`.",
    )
    api_key: SecretStr | None = Field(
        default_factory=_api_key_from_env,
        description="Bearer token for an Ollama behind an authenticating proxy (or ollama.com). "
        "Default: env `OLLAMA_API_KEY`, else none (a local Ollama needs none).",
    )
    pull_models: list[str] = Field(
        default_factory=list,
        description="Models Ollama must have, e.g. `[llama3.2:3b, nomic-embed-text]`: at start, "
        "each one missing from Ollama's `/api/tags` is pulled through `/api/pull`, with progress "
        "shown on the console. A failed pull fails the start.",
    )
    pull_timeout: float = Field(
        default=3600.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds one model's pull may take in total before the start fails (each "
        "progress line must also arrive within `read_timeout`).",
    )
    keep_alive: str | int | None = Field(
        default=None,
        description="How long Ollama keeps a model loaded after a request: a duration such as "
        "`10m` or `24h`, a number of seconds, `0` to unload at once, a negative value to keep it "
        "loaded. Added to each inference request that does not set its own `keep_alive`. "
        "Unset: Ollama's default (`OLLAMA_KEEP_ALIVE` on the Ollama server, else 5 minutes).",
    )

    @field_validator("base_url")
    @classmethod
    def _ends_with_v1(cls, value: str) -> str:
        # Runs after the base class's URL check, which also strips trailing slashes.
        url = httpx.URL(value)
        if url.path.rstrip("/").endswith("/v1"):
            return value
        return str(url.copy_with(path=url.path.rstrip("/") + "/v1"))

    @field_validator("pull_models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if any(not name or any(c.isspace() for c in name) for name in names):
            raise ValueError("each entry must be an Ollama model name such as `llama3.2:3b`")
        return list(dict.fromkeys(names))

    @field_validator("keep_alive")
    @classmethod
    def _ollama_duration(cls, value: str | int | None) -> str | int | None:
        if not isinstance(value, str):
            return value
        text = value.strip()
        # Env substitution yields strings; Ollama reads a bare number only as a JSON number.
        if _WHOLE_SECONDS.match(text):
            return int(text)
        if _GO_DURATION.match(text):
            return text
        raise ValueError(
            f"{value!r} is not an Ollama duration: use e.g. `10m`, `1h30m`, `24h`, "
            "a number of seconds, `0` (unload at once) or `-1` (keep loaded)"
        )


class OllamaProviderData(BaseModel):
    """This provider's part of the `X-OGX-Provider-Data` request header (e.g. for an Ollama
    behind an authenticating proxy)."""

    model_config = ConfigDict(extra="ignore")

    ollama_api_key: SecretStr | None = Field(
        default=None, description="Used instead of `api_key` for this request."
    )
