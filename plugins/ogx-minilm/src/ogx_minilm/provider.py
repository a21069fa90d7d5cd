"""The `inline::minilm` provider: `/v1/embeddings` from all-MiniLM-L6-v2, in-process.

Inputs are batched (shortest first, so each batch pads little) and each batch is encoded in a
worker thread: ONNX Runtime releases the GIL, so the event loop keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ogx_api import (
    Api,
    BaseProvider,
    HealthState,
    HealthStatus,
    InvalidRequest,
    NotFound,
    NotImplementedByProvider,
    ProviderError,
    ProviderUnavailable,
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
from ogx_minilm.config import MiniLMConfig
from ogx_minilm.encoder import MiniLMEncoder, packaged_model_path, packaged_tokenizer_path

# OpenAI's limit on inputs per embeddings request.
MAX_INPUTS = 2048


class MiniLMEmbeddingsProvider(BaseProvider):
    """`InferenceProvider` serving one embedding model; chat and completions are not offered."""

    def __init__(self, config: MiniLMConfig) -> None:
        self.config = config
        self._encoder: MiniLMEncoder | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        model_path = cfg.model_path or packaged_model_path()
        tokenizer_path = cfg.tokenizer_path or packaged_tokenizer_path()
        for field, path in (("model_path", model_path), ("tokenizer_path", tokenizer_path)):
            if not path.is_file():
                raise ProviderUnavailable(f"{field} {str(path)!r} is not a file")
        try:
            self._encoder = await asyncio.to_thread(
                MiniLMEncoder,
                model_path,
                tokenizer_path,
                max_tokens=cfg.max_tokens,
                threads=cfg.threads,
                allow_spinning=cfg.allow_spinning,
            )
        except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
            raise ProviderUnavailable(f"cannot load the embedding model {str(model_path)!r}: {exc}") from exc
        self._executor = ThreadPoolExecutor(
            max_workers=cfg.max_concurrent_batches, thread_name_prefix="ogx-minilm"
        )

    async def close(self) -> None:
        executor, self._executor, self._encoder = self._executor, None, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def health(self) -> HealthStatus:
        if self._encoder is None:
            return HealthStatus(status=HealthState.error, message="the embedding model is not loaded")
        return HealthStatus(status=HealthState.ok)

    # -- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ProviderModel]:
        encoder = self._loaded()
        return [
            ProviderModel(
                provider_model_id=self.config.model_id,
                model_type=ModelType.embedding,
                metadata={"embedding_dimension": encoder.dimension, "context_length": self.config.max_tokens},
            )
        ]

    # -- embeddings ----------------------------------------------------------------------------

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        encoder = self._loaded()
        if request.model != self.config.model_id:
            raise NotFound(
                f"model {request.model!r} is not served here; this provider serves {self.config.model_id!r}",
                param="model",
            )
        texts = self._texts(request)
        if request.dimensions is not None and request.dimensions != encoder.dimension:
            raise InvalidRequest(
                f"{self.config.model_id} has a fixed dimension of {encoder.dimension}: it was not trained "
                "to be shortened (Matryoshka), so `dimensions` can only be omitted or "
                f"{encoder.dimension}",
                param="dimensions",
            )
        # Shortest first: a batch pads to its longest input, so similar lengths waste least.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.config.batch_size
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        loop = asyncio.get_running_loop()
        try:
            encoded = await asyncio.gather(
                *(
                    loop.run_in_executor(self._pool(), encoder.encode, [texts[i] for i in batch])
                    for batch in batches
                )
            )
        except Exception as exc:
            raise ProviderError(f"ONNX Runtime failed: {type(exc).__name__}: {exc}") from exc
        vectors: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(texts)
        tokens = 0
        for batch, result in zip(batches, encoded, strict=True):
            tokens += sum(result.token_counts)
            for position, index in enumerate(batch):
                vectors[index] = result.vectors[position]
        as_base64 = request.encoding_format == "base64"
        return {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": index,
                    # OpenAI's base64 is the little-endian float32 bytes of the vector.
                    "embedding": base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                    if as_base64
                    else vector.tolist(),
                }
                for index, vector in enumerate(vectors)
            ],
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _texts(self, request: EmbeddingsRequest) -> list[str]:
        raw = request.input
        texts = [raw] if isinstance(raw, str) else raw
        if not texts:
            raise InvalidRequest("input is empty", param="input")
        if not all(isinstance(text, str) for text in texts):
            raise InvalidRequest(
                "token-id input is not supported: token ids are the client's tokenizer's, not this "
                "model's WordPiece vocabulary; send the text",
                param="input",
            )
        if len(texts) > MAX_INPUTS:
            raise InvalidRequest(f"at most {MAX_INPUTS} inputs per request, got {len(texts)}", param="input")
        for i, text in enumerate(texts):
            if not text:
                raise InvalidRequest("input must not contain empty strings", param=f"input[{i}]")
        return texts  # type: ignore[return-value]

    # -- not offered ---------------------------------------------------------------------------

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        raise self._embeddings_only()

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        raise self._embeddings_only()
        yield  # an async generator, so the error comes with the first chunk

    async def completion(self, request: CompletionRequest) -> Completion:
        raise self._embeddings_only()

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        raise self._embeddings_only()
        yield  # an async generator, so the error comes with the first chunk

    def _embeddings_only(self) -> NotImplementedByProvider:
        return NotImplementedByProvider(
            f"{self.config.model_id} is an embedding model: it only serves embeddings"
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _loaded(self) -> MiniLMEncoder:
        if self._encoder is None:
            raise ProviderUnavailable("the embedding model is not loaded (the provider is not started)")
        return self._encoder

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise ProviderUnavailable("the embedding model is not loaded (the provider is not started)")
        return self._executor


def create_provider(config: MiniLMConfig, deps: dict[Api, object]) -> MiniLMEmbeddingsProvider:
    """The factory named in the `inline::minilm` spec."""
    return MiniLMEmbeddingsProvider(config)
