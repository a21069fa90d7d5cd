"""The shared adapter for OpenAI-compatible inference backends (vLLM, llama.cpp, OpenAI, …).

A provider for such a backend is a config class (a subclass of `OpenAICompatConfig`) plus, where
the backend differs, a few overrides of `OpenAICompatInferenceAdapter` — typically
`describe_model()` or the `embedding_model_markers` class attribute.

The adapter relays what the backend returns without re-validating it (the hot path) and turns
every failure into the typed errors of `ogx_api.errors`, in one place: `_error_for()`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

try:  # the server installs orjson; a provider package alone falls back to the standard library
    from orjson import dumps as _json_bytes
    from orjson import loads as _json_loads
except ImportError:

    def _json_bytes(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    _json_loads = json.loads

from ogx_api.backend_http import (
    AiohttpBackend,
    Answer,
    BackendHttp,
    FailureKind,
    HttpxBackend,
    TransportFailure,
    aiohttp_installed,
)
from ogx_api.errors import (
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    error_for_backend_status,
)
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelType,
    ProviderModel,
)
from ogx_api.provider import BaseProvider, HealthState, HealthStatus
from ogx_api.redaction import redact_url
from ogx_api.request_context import provider_data

__all__ = ["OpenAICompatConfig", "OpenAICompatInferenceAdapter"]

_MAX_ERROR_TEXT = 500
_MAX_RETRY_DELAY = 10.0


class OpenAICompatConfig(BaseModel):
    """Connection settings for an OpenAI-compatible backend."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        description="Root of the backend's OpenAI API, version prefix included "
        "(e.g. `http://localhost:8000/v1`); `/chat/completions`, `/models`, … are appended to it."
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Sent as `Authorization: Bearer <api_key>`; leave unset for a backend without auth.",
    )
    connect_timeout: float = Field(
        default=5.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for a TCP/TLS connection to the backend; exceeding it is a 503.",
    )
    read_timeout: float = Field(
        default=300.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for the backend's next bytes (the whole answer, or the next "
        "chunk of a stream) and for a free pooled connection; exceeding it is a 504.",
    )
    tls_verify: bool | str = Field(
        default=True,
        description="Verify the backend's TLS certificate: `true`, `false`, or the path of a CA bundle.",
    )
    max_connections: int = Field(
        default=100,
        ge=1,
        description="Most concurrent connections to the backend (all kept alive for reuse).",
    )
    connect_retries: int = Field(
        default=1,
        ge=0,
        le=10,
        description="Times a failed connection attempt is retried (only connecting: a request the "
        "backend may have seen is never resent).",
    )

    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Times an idempotent call (model listing, health, embeddings) is retried after a "
        "429, a 5xx, a timeout or a lost connection, with exponential backoff (honouring Retry-After).",
    )
    retry_backoff: float = Field(
        default=0.5,
        gt=0,
        le=60,
        allow_inf_nan=False,
        description="Seconds before the first retry; doubles each time.",
    )
    send_max_tokens: bool = Field(
        default=False,
        description="Also send a chat request's `max_completion_tokens` as `max_tokens`, for servers "
        "that read only the older name (llama.cpp's); OpenAI itself refuses `max_tokens` for some models.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL such as http://localhost:8000/v1")
        return value.rstrip("/")

    @field_validator("tls_verify", mode="before")
    @classmethod
    def _bool_or_ca_path(cls, value: object) -> object:
        # Env substitution in the run config yields strings: "false" means the boolean.
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            if not Path(value).is_file():
                raise ValueError(f"CA bundle {value!r} is not a file (or use true/false)")
        return value


def _secrets_of(api_key: str | None, url: str) -> list[str]:
    """What an error message must not show: the API key, and the URL's password and query (a
    library's exception may quote the URL it was asked for)."""
    parsed = httpx.URL(url)
    raw_password = parsed.userinfo.partition(b":")[2].decode()
    candidates = (api_key, parsed.password, raw_password, parsed.query.decode())
    return sorted({value for value in candidates if value}, key=len, reverse=True)


class OpenAICompatInferenceAdapter(BaseProvider):
    """`InferenceProvider` for any backend that speaks the OpenAI HTTP API.

    Give it an `httpx.AsyncClient` to control transport (tests pass one with
    `httpx.MockTransport`); otherwise `start()` creates one pooled client from the config —
    aiohttp's when installed, else httpx's (`ogx_api.backend_http`) — and `close()` closes it.
    An injected client is never closed here: its owner closes it.
    """

    # A listed model whose id contains one of these (lower-cased) is registered as an
    # embedding model; /models does not say which models embed.
    embedding_model_markers: ClassVar[tuple[str, ...]] = ("embed", "bge-", "gte-", "e5-", "minilm")
    # Per-request credentials: a subclass names its X-OGX-Provider-Data model (also declared as the
    # spec's `provider_data_validator`) and the field holding the API key, e.g. `vllm_api_key`.
    provider_data_model: ClassVar[type[BaseModel] | None] = None
    provider_data_api_key_field: ClassVar[str] = "api_key"

    def __init__(self, config: OpenAICompatConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.default_body_fields: dict[str, Any] = {}  # sent unless the client set them
        self._backend: BackendHttp | None = None if client is None else HttpxBackend(client, owned=False)
        base = config.base_url
        self._display_url = redact_url(base)
        self._models_url = f"{base}/models"
        self._chat_url = f"{base}/chat/completions"
        self._completions_url = f"{base}/completions"
        self._embeddings_url = f"{base}/embeddings"
        self._secret = config.api_key.get_secret_value() if config.api_key else None
        self._hidden = _secrets_of(self._secret, base)  # never in a message
        self._headers = {"Content-Type": "application/json"}
        if self._secret:
            self._headers["Authorization"] = f"Bearer {self._secret}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._backend is not None:
            return
        cfg = self.config
        settings = {
            # A plain-HTTP backend needs no CA bundle (no redirects are followed: the pool only
            # ever connects to the backend's own URL).
            "tls_verify": cfg.tls_verify if httpx.URL(cfg.base_url).scheme == "https" else None,
            "connect_timeout": cfg.connect_timeout,
            "read_timeout": cfg.read_timeout,
            "max_connections": cfg.max_connections,
            "connect_retries": cfg.connect_retries,
        }
        self._backend = AiohttpBackend(**settings) if aiohttp_installed() else HttpxBackend.pooled(**settings)

    async def close(self) -> None:
        backend = self._backend
        if backend is not None and backend.owned:
            self._backend = None
            await backend.aclose()

    async def health(self) -> HealthStatus:
        try:
            await self._request_json("GET", self._models_url, idempotent=True)
        except OGXError as exc:
            return HealthStatus(status=HealthState.error, message=exc.message)
        return HealthStatus(status=HealthState.ok)

    # -- InferenceProvider -------------------------------------------------------------------

    async def list_models(self) -> list[ProviderModel]:
        body = await self._request_json("GET", self._models_url, idempotent=True)
        entries = body.get("data")
        if not isinstance(entries, list):
            raise ProviderError(f"the backend at {self._display_url} answered /models without a 'data' list")
        return [
            model for entry in entries if isinstance(entry, dict) and (model := self.describe_model(entry))
        ]

    def describe_model(self, entry: dict[str, Any]) -> ProviderModel | None:
        """The `ProviderModel` for one entry of the backend's `/models` list, or None to hide it.

        Override to read backend-specific fields (context length, embedding dimension, …)."""
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id:
            return None
        lowered = model_id.lower()
        is_embedding = any(marker in lowered for marker in self.embedding_model_markers)
        return ProviderModel(
            provider_model_id=model_id, model_type=ModelType.embedding if is_embedding else ModelType.llm
        )

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        return await self._request_json("POST", self._chat_url, self._payload(request))

    def chat_completion_stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        return self._stream(self._chat_url, self._payload(request))

    async def completion(self, request: CompletionRequest) -> Completion:
        return await self._request_json("POST", self._completions_url, self._payload(request))

    def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        return self._stream(self._completions_url, self._payload(request))

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        return await self._request_json("POST", self._embeddings_url, self._payload(request), idempotent=True)

    # -- transport ---------------------------------------------------------------------------

    def _payload(
        self, request: ChatCompletionRequest | CompletionRequest | EmbeddingsRequest
    ) -> dict[str, Any]:
        """The request body for the backend: what the client sent, plus `default_body_fields`
        the client did not set (e.g. Ollama's `keep_alive`)."""
        payload = request.backend_payload()
        for key, value in self.default_body_fields.items():
            payload.setdefault(key, value)
        if self.config.send_max_tokens and payload.get("max_completion_tokens") is not None:
            payload.setdefault("max_tokens", payload["max_completion_tokens"])
        return payload

    def _request_headers(self) -> dict[str, str]:
        """The configured headers, with the client's own key when it sent one in the
        `X-OGX-Provider-Data` header (see `provider_data_model`)."""
        key = self._client_key()
        return self._headers if key is None else {**self._headers, "Authorization": f"Bearer {key}"}

    def _client_key(self) -> str | None:
        """The API key this request's client sent in `X-OGX-Provider-Data`, if any."""
        if self.provider_data_model is None:
            return None
        data = provider_data(self.provider_data_model)
        key = getattr(data, self.provider_data_api_key_field, None) if data is not None else None
        if key is None:
            return None
        return key.get_secret_value() if isinstance(key, SecretStr) else str(key)

    @property
    def _http(self) -> BackendHttp:
        if self._backend is None:
            raise RuntimeError(f"{type(self).__name__} is not started: await start() first")
        return self._backend

    async def _request_json(
        self, method: str, url: str, payload: dict[str, Any] | None = None, *, idempotent: bool = False
    ) -> Any:
        """One JSON call; an idempotent one is retried (bounded, with backoff) when the failure
        says the backend is busy, down or slow rather than that the request is wrong."""
        attempt = 0
        while True:
            try:
                return await self._request_json_once(method, url, payload)
            except (RateLimited, ProviderUnavailable, ProviderTimeout, ProviderError) as exc:
                if not idempotent or attempt >= self.config.max_retries:
                    raise
                delay = self.config.retry_backoff * 2**attempt * (1 + random.random() / 4)
                if isinstance(exc, RateLimited) and exc.retry_after:
                    delay = exc.retry_after
                attempt += 1
                await asyncio.sleep(min(delay, _MAX_RETRY_DELAY))

    async def _request_json_once(self, method: str, url: str, payload: dict[str, Any] | None) -> Any:
        http = self._http
        try:
            content = None if payload is None else _json_bytes(payload)
            answer = await http.request(method, url, content, self._request_headers())
        except http.errors as exc:
            raise self._error_for(http.failure(exc)) from exc
        if answer.status >= 400:
            raise self._error_for(answer)
        try:
            body = _json_loads(answer.body)
        except ValueError as exc:
            raise self._error_for(exc) from exc
        if type(body) is not dict:
            raise ProviderError(
                f"the backend at {self._display_url} answered with JSON that is not an object"
            )
        return body

    async def _post_lines(self, url: str, payload: dict[str, Any]) -> AsyncGenerator[list[bytes], None]:
        """POST `payload` and relay the answer's lines (without `\\n`) as they arrive, in batches
        of whole lines; a last line without `\\n` comes at the end.

        The status is checked first, so a refused request raises on the first `__anext__()` with
        nothing yielded. Closing this generator early closes the connection, so the backend stops."""
        http = self._http
        try:
            async with http.stream("POST", url, _json_bytes(payload), self._request_headers()) as exchange:
                if exchange.status >= 400:
                    raise self._error_for(await exchange.answer())
                pending = b""
                async for piece in exchange.chunks():
                    lines = (pending + piece).split(b"\n")
                    pending = lines.pop()
                    if lines:
                        yield lines
                if pending:
                    yield [pending]
        except http.errors as exc:
            raise self._error_for(http.failure(exc)) from exc

    async def _stream(self, url: str, payload: dict[str, Any]) -> AsyncIterator[Any]:
        """Relay the backend's SSE `data:` events as parsed dicts until `[DONE]`.

        A refused request raises on the first `__anext__()` with nothing yielded (the server fetches
        that chunk before answering). A stream that stops before `[DONE]` raises `ProviderError`
        after what it did relay."""
        async with aclosing(self._post_lines(url, payload)) as batches:
            async for lines in batches:
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue  # blank separators, `event:` lines, `: ping` comments
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        return
                    try:
                        chunk = _json_loads(data)
                    except ValueError as exc:
                        raise self._error_for(exc) from exc
                    if type(chunk) is not dict:
                        raise ProviderError(f"the backend at {self._display_url} streamed a non-object event")
                    if "error" in chunk:
                        raise ProviderError(f"backend error mid-stream: {self._message_from_body(chunk, '')}")
                    yield chunk
        # OpenAI streams end with `data: [DONE]`; without it the answer was cut off (a backend
        # failing after sending its headers, e.g. llama_cpp.server, just ends the body).
        raise ProviderError(f"the backend at {self._display_url} ended the stream before [DONE]")

    # -- errors ------------------------------------------------------------------------------

    def _error_for(self, failure: Answer | TransportFailure | ValueError) -> OGXError:
        """The one mapping from a backend failure to a typed error."""
        url = self._display_url
        if isinstance(failure, Answer):
            text = failure.body.decode(errors="replace")
            try:
                body = _json_loads(failure.body)
            except ValueError:
                body = None
            message = self._message_from_body(body, text) or failure.reason or _status_phrase(failure.status)
            error = error_for_backend_status(failure.status, message)
            if isinstance(error, RateLimited):
                error.retry_after = _seconds(failure.headers.get("retry-after"))
            return error
        if isinstance(failure, TransportFailure):
            kind = failure.kind
            if kind is FailureKind.connect_timeout:
                return ProviderUnavailable(f"timed out connecting to the backend at {url} (connect_timeout)")
            if kind is FailureKind.pool_timeout:
                return ProviderUnavailable(
                    f"all connections to the backend at {url} stayed busy (max_connections)"
                )
            if kind is FailureKind.read_timeout:
                return ProviderTimeout(f"the backend at {url} did not answer in time (read_timeout)")
            if kind is FailureKind.connect:
                return ProviderUnavailable(
                    self._redact(f"cannot connect to the backend at {url}: {failure.detail}")
                )
            return ProviderError(
                self._redact(f"the connection to the backend at {url} failed: {failure.detail}")
            )
        return ProviderError(f"the backend at {url} answered with malformed JSON: {failure}")

    def _message_from_body(self, body: Any, text: str) -> str:
        """The human message of an error body: `error.message`, `detail`, `message` or the text."""
        message: Any = None
        if isinstance(body, dict):
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            message = message or body.get("detail") or body.get("message")
        if message and not isinstance(message, str):
            message = json.dumps(message)  # e.g. FastAPI's list of validation errors
        return self._redact(message or text.strip()[:_MAX_ERROR_TEXT])

    def _redact(self, message: str) -> str:
        client_key = self._client_key()
        for hidden in (client_key, *self._hidden) if client_key else self._hidden:
            message = message.replace(hidden, "***")
        return message


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; callers just retry later
