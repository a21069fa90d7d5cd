"""The `remote::ollama` provider: the shared OpenAI-compatible adapter for inference (Ollama's
`/v1`), plus Ollama's native API (`/api/*`) for what `/v1` does not say — which models embed,
their context length and size — and for pulling missing models at start."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

import httpx

from ogx_api import Api
from ogx_api.errors import NotFound, OGXError, ProviderError, ProviderTimeout
from ogx_api.inference import (
    ModelType,
    ProviderModel,
)
from ogx_api.openai_compat import OpenAICompatInferenceAdapter
from ogx_api.provider import HealthState, HealthStatus
from ogx_ollama.config import OllamaConfig, OllamaProviderData
from ogx_ollama.progress import PullProgress, PullProgressFactory, console_pull_progress

logger = logging.getLogger("ogx_ollama")

_SHOW_CONCURRENCY = 8
"""Most `/api/show` requests in flight while listing models (each makes Ollama read a GGUF header)."""


def native_root(base_url: str) -> str:
    """Ollama's root URL (where `/api/*` lives): the configured `/v1` URL without `/v1`."""
    return base_url.removesuffix("/v1")


def canonical_name(name: str) -> str:
    """An Ollama model name as `/api/tags` lists it: lower-cased, default registry and `library/`
    namespace dropped, `:latest` added when no tag is given (`Llama3.2` → `llama3.2:latest`)."""
    name = name.strip().lower().removeprefix("registry.ollama.ai/").removeprefix("library/")
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def describe_ollama_model(
    name: str, details: Mapping[str, Any], show: Mapping[str, Any], embedding_markers: tuple[str, ...]
) -> ProviderModel:
    """The `ProviderModel` for one `/api/tags` entry (`name`, `details`) and its `/api/show` answer.

    The type comes from `capabilities` (Ollama ≥ 0.6.4 lists `"embedding"` for an embedding
    model, `"completion"` for a generative one); older servers give no capabilities, and there
    an embedding model is one whose GGUF metadata has a pooling type, as Ollama itself decides.
    """
    details = show.get("details") or details
    info = show.get("model_info") or {}
    architecture = info.get("general.architecture") or details.get("family")
    capabilities = show.get("capabilities")
    if isinstance(capabilities, list):
        # A generative model that can also embed is still registered as an LLM.
        is_embedding = "embedding" in capabilities and "completion" not in capabilities
    elif info:
        is_embedding = f"{architecture}.pooling_type" in info
    else:
        is_embedding = any(marker in name.lower() for marker in embedding_markers)

    def known(value: Any, kind: type) -> Any:
        return value if isinstance(value, kind) and value else None

    metadata = {
        "context_length": known(info.get(f"{architecture}.context_length"), int),
        "family": known(details.get("family"), str) or known(architecture, str),
        "embedding_dimension": known(info.get(f"{architecture}.embedding_length"), int)
        if is_embedding
        else None,
        "parameter_size": known(details.get("parameter_size"), str),
        "quantization_level": known(details.get("quantization_level"), str),
    }
    return ProviderModel(
        provider_model_id=name,
        model_type=ModelType.embedding if is_embedding else ModelType.llm,
        metadata={key: value for key, value in metadata.items() if value is not None},
    )


class OllamaInferenceAdapter(OpenAICompatInferenceAdapter):
    """`InferenceProvider` for Ollama. `pull_progress` renders the progress of start-up pulls
    (default: a console progress bar); tests pass a recorder."""

    config: OllamaConfig
    provider_data_model = OllamaProviderData
    provider_data_api_key_field = "ollama_api_key"

    def __init__(
        self,
        config: OllamaConfig,
        client: httpx.AsyncClient | None = None,
        *,
        pull_progress: PullProgressFactory | None = None,
    ) -> None:
        super().__init__(config, client)
        root = native_root(config.base_url)
        self._version_url = f"{root}/api/version"
        self._tags_url = f"{root}/api/tags"
        self._show_url = f"{root}/api/show"
        self._pull_url = f"{root}/api/pull"
        self._pull_progress = pull_progress or console_pull_progress
        if config.keep_alive is not None:
            self.default_body_fields["keep_alive"] = config.keep_alive

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if not self.config.pull_models:
            return
        try:
            await self._pull_missing_models()
        except BaseException:  # also cancellation during a long pull: the client pool is closed, re-raised
            await self.close()
            raise

    async def health(self) -> HealthStatus:
        # The native API, not /v1/models: model discovery needs it, and it is the cheaper call.
        try:
            await self._request_json("GET", self._version_url, idempotent=True)
        except OGXError as exc:
            return HealthStatus(status=HealthState.error, message=exc.message)
        return HealthStatus(status=HealthState.ok)

    async def list_models(self) -> list[ProviderModel]:
        entries = await self._local_models()
        limit = asyncio.Semaphore(_SHOW_CONCURRENCY)

        async def describe(name: str, details: Mapping[str, Any]) -> ProviderModel | None:
            async with limit:
                try:
                    show = await self._request_json("POST", self._show_url, {"model": name}, idempotent=True)
                except NotFound:
                    return None  # deleted since /api/tags answered
                except ProviderError as exc:
                    # One unreadable model (Ollama answers 500) must not hide all the others.
                    logger.warning("Ollama cannot describe model %s (%s); listing it as is", name, exc)
                    show = {}
            return describe_ollama_model(name, details, show, self.embedding_model_markers)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(describe(name, details)) for name, details in entries]
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None  # the typed error; the other lookups were cancelled
        return [model for task in tasks if (model := task.result()) is not None]

    async def _local_models(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(name, details) of each model in Ollama's `/api/tags`."""
        body = await self._request_json("GET", self._tags_url, idempotent=True)
        entries = body.get("models")
        if not isinstance(entries, list):
            raise ProviderError(f"Ollama at {self._display_url} answered /api/tags without a 'models' list")
        models = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            name = entry.get("name") or entry.get("model")
            details = entry.get("details")
            if isinstance(name, str) and name:
                models.append((name, details if isinstance(details, dict) else {}))
        return models

    # -- pulling at start --------------------------------------------------------------------

    async def _pull_missing_models(self) -> None:
        present = {canonical_name(name) for name, _ in await self._local_models()}
        for model in self.config.pull_models:
            if canonical_name(model) in present:
                continue
            logger.info("pulling Ollama model %s (not yet in Ollama at %s)", model, self._display_url)
            try:
                async with asyncio.timeout(self.config.pull_timeout):
                    with self._pull_progress(model) as progress:
                        await self._pull(model, progress)
            except TimeoutError:
                raise ProviderTimeout(
                    f"pulling Ollama model {model!r} took longer than pull_timeout "
                    f"({self.config.pull_timeout:g} s)"
                ) from None
            logger.info("pulled Ollama model %s", model)

    async def _pull(self, model: str, progress: PullProgress) -> None:
        """Pull `model` through `/api/pull`, feeding each NDJSON progress object to `progress`.

        Ollama reports a failure after its 200 status line as an `{"error": "…"}` line."""
        async with aclosing(self._post_lines(self._pull_url, {"model": model, "stream": True})) as lines:
            while True:
                try:
                    batch = await anext(lines)
                except StopAsyncIteration:
                    break
                except OGXError as exc:  # refused, an error status, a lost connection
                    raise _about_pull(model, exc) from exc.__cause__
                for line in batch:
                    if line.strip() and self._pull_event(model, line, progress).get("status") == "success":
                        return
        raise ProviderError(f"Ollama's pull of model {model!r} ended before reporting success")

    def _pull_event(self, model: str, line: bytes, progress: PullProgress) -> dict[str, Any]:
        """One NDJSON line of `/api/pull`, fed to `progress`."""
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise _about_pull(model, self._error_for(exc)) from exc
        if not isinstance(event, dict):
            raise ProviderError(f"Ollama streamed a non-object line while pulling {model!r}")
        if "error" in event:
            raise ProviderError(f"Ollama could not pull model {model!r}: {self._redact(str(event['error']))}")
        progress.update(event)
        return event


def _about_pull(model: str, error: OGXError) -> OGXError:
    """`error`, its message saying which model's pull failed."""
    error.message = f"pulling Ollama model {model!r} failed: {error.message}"
    error.args = (error.message,)
    return error


def create_provider(
    config: OllamaConfig,
    deps: dict[Api, object],
    *,
    client: httpx.AsyncClient | None = None,
    pull_progress: PullProgressFactory | None = None,
) -> OllamaInferenceAdapter:
    """The factory named in the `remote::ollama` spec; `client` and `pull_progress` let tests
    inject a transport and a progress recorder."""
    return OllamaInferenceAdapter(config, client=client, pull_progress=pull_progress)
