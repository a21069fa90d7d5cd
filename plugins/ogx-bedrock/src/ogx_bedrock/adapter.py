"""The `remote::bedrock` provider: OpenAI-shaped inference over Amazon Bedrock.

Chat goes through Converse / ConverseStream (translated by `ogx_bedrock.translate`), embeddings
through InvokeModel (bodies in `ogx_bedrock.embeddings`), model listing through the `bedrock`
control plane (`ogx_bedrock.models`).

botocore is synchronous: every call runs on the provider's own thread pool (sized by
`max_concurrency`, so long generations cannot starve the event loop's default executor), and a
ConverseStream is read one event per hop, so nothing is buffered beyond the event in hand.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore
import botocore.session
from botocore.config import Config

from ogx_api import Api, BaseProvider, HealthState, HealthStatus, InvalidRequest, OGXError, ProviderError
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ProviderModel,
)
from ogx_api.request_context import provider_data
from ogx_bedrock import embeddings as embed
from ogx_bedrock import models as catalog
from ogx_bedrock import translate
from ogx_bedrock.config import BedrockConfig, BedrockProviderData, safe_for_bearer
from ogx_bedrock.errors import BOTO_FAILURES, error_for

T = TypeVar("T")

_USER_AGENT = "ogx-bedrock/0.1.0"
# GetFoundationModelAvailability calls in flight at once: the control plane throttles bursts.
_ACCESS_CHECKS_AT_ONCE = 8
# Runtime clients kept for per-request credentials (`X-OGX-Provider-Data`), least recently used out.
_REQUEST_CLIENTS = 16


@dataclass(frozen=True)
class _Credentials:
    """What a botocore client authenticates with: access keys (SigV4), a Bedrock API key
    (bearer), or neither (botocore's default chain)."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    api_key: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.secret_access_key, self.session_token, self.api_key) if s)

    @classmethod
    def of(cls, source: BedrockConfig | BedrockProviderData) -> _Credentials:
        api_key = source.api_key if isinstance(source, BedrockConfig) else source.bedrock_api_key
        return cls(
            access_key_id=source.aws_access_key_id,
            secret_access_key=_reveal(source.aws_secret_access_key),
            session_token=_reveal(source.aws_session_token),
            api_key=_reveal(api_key),
        )


def _reveal(secret: Any) -> str | None:
    return None if secret is None else secret.get_secret_value()


class BedrockInferenceAdapter(BaseProvider):
    """`InferenceProvider` for Amazon Bedrock.

    `client` (a botocore `bedrock-runtime` client) and `control_client` (a `bedrock` client) may
    be injected; otherwise `start()` creates them from the config, with `session` (a botocore
    session, whose profile then wins over `profile_name`) or a new one. Injected clients are not
    closed here."""

    def __init__(
        self,
        config: BedrockConfig,
        *,
        client: Any = None,
        control_client: Any = None,
        session: botocore.session.Session | None = None,
    ) -> None:
        self.config = config
        self._client = client
        self._control = control_client
        self._session = session
        self._owned: list[Any] = []
        self._executor: ThreadPoolExecutor | None = None
        self._credentials = _Credentials.of(config)
        self._secrets = self._credentials.secrets
        self._request_clients: OrderedDict[str, Any] = OrderedDict()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=self.config.max_concurrency, thread_name_prefix="ogx-bedrock"
        )
        if self._client is None or self._control is None:
            # Creating a client loads service models and resolves credentials (files, maybe the
            # instance metadata service): blocking work, kept off the event loop.
            await self._run(self._create_clients)

    def _create_clients(self) -> None:
        if self._client is None:
            self._client = self._create_client("bedrock-runtime", self.config.endpoint_url, self._credentials)
            self._owned.append(self._client)
        if self._control is None:
            self._control = self._create_client(
                "bedrock", self.config.control_plane_endpoint_url, self._credentials
            )
            self._owned.append(self._control)

    def _botocore_session(self) -> botocore.session.Session:
        if self._session is None:  # kept: it caches the service models for later clients
            self._session = botocore.session.Session(profile=self.config.profile_name)
        return self._session

    def _create_client(self, service: str, endpoint_url: str | None, credentials: _Credentials) -> Any:
        cfg = self.config
        session = self._botocore_session()
        region = cfg.region or session.get_config_variable("region") or "us-east-1"
        client_config = Config(
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            retries={"total_max_attempts": cfg.max_attempts, "mode": "standard"},
            max_pool_connections=cfg.max_concurrency,
            user_agent_extra=_USER_AGENT,
            # Explicit, so botocore's own AWS_BEARER_TOKEN_BEDROCK handling never overrides the config.
            signature_version=botocore.UNSIGNED if credentials.api_key else "v4",
        )
        keys: dict[str, Any] = {}
        if credentials.access_key_id and credentials.secret_access_key:
            keys = {
                "aws_access_key_id": credentials.access_key_id,
                "aws_secret_access_key": credentials.secret_access_key,
                "aws_session_token": credentials.session_token,
            }
        client = session.create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=client_config, **keys
        )
        if credentials.api_key is not None:
            header = f"Bearer {credentials.api_key}"

            def add_bearer(request: Any, **_: Any) -> None:
                request.headers["Authorization"] = header

            client.meta.events.register_last("before-sign.*.*", add_bearer)
        return client

    async def close(self) -> None:
        for client in [*self._owned, *self._request_clients.values()]:
            client.close()
        self._request_clients.clear()
        if self._client in self._owned:
            self._client = None
        if self._control in self._owned:
            self._control = None
        self._owned.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def health(self) -> HealthStatus:
        try:
            await self._call(self._control_client, "list_foundation_models", byOutputModality="EMBEDDING")
        except OGXError as exc:
            return HealthStatus(status=HealthState.error, message=exc.message)
        return HealthStatus(status=HealthState.ok)

    # -- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ProviderModel]:
        control = self._control_client
        foundation, system_profiles, app_profiles = await asyncio.gather(
            self._call(control, "list_foundation_models"),
            self._profiles("SYSTEM_DEFINED"),
            self._profiles("APPLICATION"),
        )
        summaries = [
            s for s in foundation.get("modelSummaries") or () if isinstance(s, dict) and s.get("modelId")
        ]
        profiles = system_profiles + app_profiles
        access: dict[str, bool | None] = {}
        if self.config.check_model_access:
            ids = catalog.models_to_check(summaries, profiles)
            limit = asyncio.Semaphore(_ACCESS_CHECKS_AT_ONCE)
            verdicts = await asyncio.gather(*(self._model_access(model_id, limit) for model_id in ids))
            access = dict(zip(ids, verdicts, strict=True))
        return catalog.callable_models(summaries, profiles, access)

    async def _profiles(self, profile_type: str) -> list[dict[str, Any]]:
        profiles: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self._call(
                self._control_client,
                "list_inference_profiles",
                typeEquals=profile_type,
                maxResults=1000,
                **({"nextToken": token} if token else {}),
            )
            profiles += page.get("inferenceProfileSummaries") or []
            token = page.get("nextToken")
            if not token:
                return profiles

    async def _model_access(self, model_id: str, limit: asyncio.Semaphore) -> bool | None:
        try:
            async with limit:
                availability = await self._call(
                    self._control_client, "get_foundation_model_availability", modelId=model_id
                )
        except OGXError:
            return None  # e.g. no IAM permission for the check: the model stays listed
        return catalog.is_authorized(availability)

    # -- chat --------------------------------------------------------------------------------

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        kwargs = translate.converse_request(request)
        runtime, secrets = await self._runtime_for_request()
        response = await self._call(runtime, "converse", secrets=secrets, **kwargs)
        return translate.chat_completion(
            response, model=request.model, completion_id=_completion_id(response), created=int(time.time())
        )

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        kwargs = translate.converse_request(request)
        # The call returns once Bedrock answered with its status: a refused request raises here,
        # before anything is yielded.
        runtime, secrets = await self._runtime_for_request()
        response = await self._open_stream(runtime, kwargs, secrets)
        stream = response["stream"]
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        translator = translate.StreamTranslator(
            model=request.model,
            completion_id=_completion_id(response),
            created=int(time.time()),
            include_usage=include_usage,
        )
        events: Iterator[dict[str, Any]] = iter(stream)
        try:
            while (event := await self._run(_next_event, events)) is not None:
                for chunk in translator.feed(event):
                    yield chunk
        except BOTO_FAILURES as exc:
            raise error_for(exc, secrets=secrets) from exc
        finally:
            # Closing the body ends a read still blocked in a worker thread (client gone away).
            stream.close()
        translator.finish()

    async def _open_stream(
        self, runtime: Any, kwargs: dict[str, Any], secrets: tuple[str, ...]
    ) -> dict[str, Any]:
        assert self._executor is not None
        opening = self._executor.submit(functools.partial(runtime.converse_stream, **kwargs))
        try:
            return await asyncio.wrap_future(opening)
        except asyncio.CancelledError:
            # The caller left while Bedrock was answering: close the stream when it arrives,
            # rather than leaving its connection checked out of the pool.
            opening.add_done_callback(_close_opened_stream)
            raise
        except BOTO_FAILURES as exc:
            raise error_for(exc, secrets=secrets) from exc

    # -- completions -------------------------------------------------------------------------

    async def completion(self, request: CompletionRequest) -> Completion:
        chat = await self.chat_completion(translate.chat_request_for_completion(request))
        return translate.completion_from_chat(chat)

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        chat_request = translate.chat_request_for_completion(request)
        async for chunk in self.chat_completion_stream(chat_request):
            if (completion := translate.completion_chunk(chunk)) is not None:
                yield completion

    # -- embeddings --------------------------------------------------------------------------

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        family = embed.family(request.model)
        raw = [request.input] if isinstance(request.input, str) else list(request.input)
        texts = [text for text in raw if isinstance(text, str)]
        if not texts or len(texts) != len(raw):
            raise InvalidRequest(
                "Amazon Bedrock embeds text: `input` must be a string or a list of strings", param="input"
            )
        extra = dict(request.model_extra or {})
        size = embed.COHERE_MAX_TEXTS if embed.is_batched(family) else 1
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        runtime, secrets = await self._runtime_for_request()
        results = await asyncio.gather(
            *(
                self._embed_batch(runtime, secrets, request.model, family, batch, request.dimensions, extra)
                for batch in batches
            )
        )
        vectors = [vector for batch_vectors, _ in results for vector in batch_vectors]
        tokens = sum(count for _, count in results)
        base64_format = request.encoding_format == "base64"
        return {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": index,
                    "embedding": embed.encode_base64(vector) if base64_format else vector,
                }
                for index, vector in enumerate(vectors)
            ],
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def _embed_batch(
        self,
        runtime: Any,
        secrets: tuple[str, ...],
        model: str,
        family: embed.Family,
        texts: list[str],
        dimensions: int | None,
        extra: dict[str, Any],
    ) -> tuple[list[list[float]], int]:
        body = embed.request_body(family, texts, dimensions=dimensions, extra=extra)

        def invoke() -> tuple[Any, int]:
            response = runtime.invoke_model(
                modelId=model,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            )
            headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            payload = response["body"].read()
            return payload, int(headers.get("x-amzn-bedrock-input-token-count") or 0)

        try:
            payload, header_tokens = await self._run(invoke)
            parsed = json.loads(payload)
        except BOTO_FAILURES as exc:
            raise error_for(exc, secrets=secrets) from exc
        except ValueError as exc:
            raise ProviderError(f"Amazon Bedrock answered InvokeModel with malformed JSON: {exc}") from exc
        vectors, body_tokens = embed.parse_response(family, parsed, len(texts))
        return vectors, body_tokens if body_tokens is not None else header_tokens

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def _runtime(self) -> Any:
        if self._client is None or self._executor is None:
            raise RuntimeError(f"{type(self).__name__} is not started: await start() first")
        return self._client

    @property
    def _control_client(self) -> Any:
        if self._control is None or self._executor is None:
            raise RuntimeError(f"{type(self).__name__} is not started: await start() first")
        return self._control

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"{type(self).__name__} is not started: await start() first")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(function, *args)
        )

    async def _call(
        self, client: Any, operation: str, *, secrets: tuple[str, ...] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One botocore operation on the thread pool, its failures mapped to typed errors."""
        try:
            return await self._run(functools.partial(getattr(client, operation), **kwargs))
        except BOTO_FAILURES as exc:
            raise error_for(exc, secrets=self._secrets if secrets is None else secrets) from exc

    async def _runtime_for_request(self) -> tuple[Any, tuple[str, ...]]:
        """The runtime client for this request and the secrets to keep out of its errors: the
        configured one, or one for the credentials in `X-OGX-Provider-Data` (kept for reuse)."""
        data = provider_data(BedrockProviderData)
        if data is None or not data.has_credentials:
            return self._runtime, self._secrets
        credentials = _Credentials.of(data)
        endpoint = self.config.endpoint_url
        if credentials.api_key and endpoint is not None and not safe_for_bearer(endpoint):
            raise InvalidRequest(
                f"bedrock_api_key would be sent in clear text to {endpoint}; this provider needs an https:// endpoint for it",
                param="X-OGX-Provider-Data",
            )
        key = hashlib.sha256(repr(credentials).encode()).hexdigest()
        client = self._request_clients.get(key)
        if client is None:
            client = await self._run(self._create_client, "bedrock-runtime", endpoint, credentials)
            if key in self._request_clients:  # a concurrent request made one meanwhile
                client.close()
                client = self._request_clients[key]
            self._request_clients[key] = client
            while len(self._request_clients) > _REQUEST_CLIENTS:
                _, oldest = self._request_clients.popitem(last=False)
                oldest.close()
        self._request_clients.move_to_end(key)
        return client, credentials.secrets


def _close_opened_stream(opening: Future[dict[str, Any]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result()["stream"].close()


def _next_event(events: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
    return next(events, None)


def _completion_id(response: dict[str, Any]) -> str:
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    return f"chatcmpl-{request_id or uuid.uuid4().hex}"


def create_provider(
    config: BedrockConfig,
    deps: dict[Api, object],
    *,
    client: Any = None,
    control_client: Any = None,
    session: botocore.session.Session | None = None,
) -> BedrockInferenceAdapter:
    """The factory named in the `remote::bedrock` spec; tests may inject botocore clients or a
    botocore session."""
    return BedrockInferenceAdapter(config, client=client, control_client=control_client, session=session)
