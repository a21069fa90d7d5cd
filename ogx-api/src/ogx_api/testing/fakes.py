"""Deterministic in-process providers for tests above the provider layer (the core's routing,
vector stores, a client), without a model or a vector database:

- `inline::fake` (inference): echoes, streams word by word, embeds by hashing, fails on request;
- `inline::fake-vector-io` (vector_io): brute-force cosine, naive keyword scoring, `fuse()` for
  hybrid and `matches()` for filters — the reference semantics, in memory (optionally saved to a
  JSON file, so a restarted server finds its indexes)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from ogx_api import (
    Api,
    BaseProvider,
    HealthState,
    HealthStatus,
    NotImplementedByProvider,
    ProviderSpec,
    errors,
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
from ogx_api.request_context import provider_data
from ogx_api.vector_io import (
    Chunk,
    ScoredChunk,
    VectorQuery,
    check_embedding,
    check_query,
    finish_query,
    keyword_terms,
    matches,
    normalised_keyword_scores,
)

FAKE_PROVIDER_TYPE = "inline::fake"
FAKE_VECTOR_IO_PROVIDER_TYPE = "inline::fake-vector-io"


def fake_provider_spec() -> ProviderSpec:
    return ProviderSpec(
        api=Api.inference,
        provider_type=FAKE_PROVIDER_TYPE,
        config_class="ogx_api.testing.fakes:FakeInferenceConfig",
        factory="ogx_api.testing.fakes:FakeInferenceProvider",
        provider_data_validator="ogx_api.testing.fakes:FakeProviderData",
        description="Deterministic fake inference for tests",
    )


def fake_vector_io_spec() -> ProviderSpec:
    return ProviderSpec(
        api=Api.vector_io,
        provider_type=FAKE_VECTOR_IO_PROVIDER_TYPE,
        config_class="ogx_api.testing.fakes:FakeVectorIOConfig",
        factory="ogx_api.testing.fakes:FakeVectorIOProvider",
        description="In-memory reference vector index for tests",
    )


class FakeProviderData(BaseModel):
    """The fake's part of `X-OGX-Provider-Data`; what it received is kept in `seen_api_keys`."""

    fake_api_key: SecretStr | None = None


class FakeInferenceConfig(BaseModel):
    llm_models: list[str] = Field(default_factory=lambda: ["fake-llm"])
    embedding_models: list[str] = Field(default_factory=lambda: ["fake-embed"])
    embedding_dimension: int = 8
    api_key: SecretStr | None = None
    fail_list_models: bool = False
    fail_before_stream: str | None = Field(default=None, description="an ogx_api.errors class name to raise")
    fail_mid_stream: str | None = Field(default=None, description="an ogx_api.errors class name to raise")
    stream_delay: float = Field(default=0.0, description="seconds to wait before each streamed chunk")


class FakeInferenceProvider(BaseProvider):
    def __init__(self, config: FakeInferenceConfig, deps: dict[Any, Any] | None = None) -> None:
        self.config = config
        self.requests: list[Any] = []  # every request received, newest last
        self.streams_closed = 0  # streams that ended, fully read or not
        self.seen_api_keys: list[str | None] = []  # fake_api_key of each chat request

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def list_models(self) -> list[ProviderModel]:
        if self.config.fail_list_models:
            raise errors.ProviderUnavailable("fake backend is down")
        return [ProviderModel(provider_model_id=m) for m in self.config.llm_models] + [
            ProviderModel(
                provider_model_id=m,
                model_type=ModelType.embedding,
                metadata={"embedding_dimension": self.config.embedding_dimension},
            )
            for m in self.config.embedding_models
        ]

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.requests.append(request)
        data = provider_data(FakeProviderData)
        key = data.fake_api_key if data else None
        self.seen_api_keys.append(key.get_secret_value() if key else None)
        text = _reply(request)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(request, text),
        }

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        self.requests.append(request)
        _maybe_fail(self.config.fail_before_stream)
        text = _reply(request)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: Any = None, usage: Any = None) -> ChatCompletionChunk:
            out: ChatCompletionChunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            if usage is not None:
                out["choices"] = []
                out["usage"] = usage
            return out

        try:
            yield chunk({"role": "assistant", "content": ""})
            for index, word in enumerate(text.split(" ")):
                if index == 1:
                    _maybe_fail(self.config.fail_mid_stream)
                if self.config.stream_delay:
                    await asyncio.sleep(self.config.stream_delay)
                yield chunk({"content": word if index == 0 else " " + word})
            yield chunk({}, finish="stop")
            if request.stream_options and request.stream_options.include_usage:
                yield chunk({}, usage=_usage(request, text))
        finally:
            self.streams_closed += 1

    async def completion(self, request: CompletionRequest) -> Completion:
        prompt = request.prompt if isinstance(request.prompt, str) else str(request.prompt)
        return {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [{"index": 0, "text": f" after {prompt}", "finish_reason": "stop", "logprobs": None}],
        }

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        yield await self.completion(request)

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        if request.dimensions is not None:
            raise NotImplementedByProvider("the fake provider's vectors have a fixed dimension")
        inputs = [request.input] if isinstance(request.input, str) else list(request.input)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _vector(str(text), self.config.embedding_dimension),
            }
            for i, text in enumerate(inputs)
        ]
        tokens = sum(len(str(t).split()) for t in inputs)
        return {
            "object": "list",
            "data": data,  # type: ignore[typeddict-item]
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _maybe_fail(error_name: str | None) -> None:
    if error_name:
        raise getattr(errors, error_name)(f"fake {error_name}")


def _reply(request: ChatCompletionRequest) -> str:
    last = request.messages[-1]
    content = getattr(last, "content", "") or ""
    if not isinstance(content, str):
        content = " ".join(getattr(part, "text", "") for part in content)
    return f"echo: {content}"


def _usage(request: ChatCompletionRequest, text: str) -> dict[str, int]:
    prompt = sum(len(str(getattr(m, "content", "") or "").split()) for m in request.messages)
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _vector(text: str, dimension: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


# -- vector io ---------------------------------------------------------------------------------


class FakeVectorIOConfig(BaseModel):
    persist_path: str | None = Field(default=None, description="a JSON file the indexes are saved to")
    fail_insert: str | None = Field(default=None, description="an ogx_api.errors class name to raise")
    insert_delay: float = Field(default=0.0, description="seconds each insert takes (to test races)")
    fail_delete: str | None = Field(default=None, description="an ogx_api.errors class name to raise")


_WORDS = re.compile(r"\w+")


class FakeVectorIOProvider(BaseProvider):
    """The `VectorIOProvider` contract in memory: exact, slow, obviously right. Keyword scores
    are term counts over crudely stemmed words (a plural's `s` dropped), normalised."""

    def __init__(self, config: FakeVectorIOConfig, deps: dict[Any, Any] | None = None) -> None:
        self.config = config
        self.indexes: dict[str, tuple[int, dict[str, Chunk]]] = {}
        self.inserts = 0  # insert calls received
        self.inserted = 0  # insert calls that finished writing

    async def start(self) -> None:
        path = self._path()
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            self.indexes = {
                index_id: (
                    entry["dimension"],
                    {c["chunk_id"]: Chunk.model_validate(c) for c in entry["chunks"]},
                )
                for index_id, entry in saved.items()
            }

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def create_index(self, index_id: str, dimension: int) -> None:
        existing = self.indexes.get(index_id)
        if existing is not None and existing[0] != dimension:
            raise errors.InvalidRequest(f"index {index_id!r} has dimension {existing[0]}, not {dimension}")
        self.indexes.setdefault(index_id, (dimension, {}))
        self._save()

    async def delete_index(self, index_id: str) -> None:
        self.indexes.pop(index_id, None)
        self._save()

    async def insert(self, index_id: str, chunks: Sequence[Chunk]) -> None:
        self.inserts += 1
        _maybe_fail(self.config.fail_insert)
        if self.config.insert_delay:
            await asyncio.sleep(self.config.insert_delay)
        dimension, stored = self._index(index_id)
        for chunk in chunks:
            check_embedding(chunk.embedding, dimension, f"chunk {chunk.chunk_id!r}")
        stored.update({chunk.chunk_id: chunk for chunk in chunks})
        self._save()
        self.inserted += 1

    async def query(self, index_id: str, query: VectorQuery) -> list[ScoredChunk]:
        check_query(query)
        dimension, stored = self._index(index_id)
        candidates = [c for c in stored.values() if matches(query.filters, c.attributes)]
        vector = keyword = []
        if query.mode != "keyword":
            embedding = check_embedding(query.embedding, dimension, "the query")
            vector = _best(
                [
                    ScoredChunk(chunk=_bare(c), score=_cosine(embedding, c.embedding or []))
                    for c in candidates
                ],
                query.k,
            )
        if query.mode != "vector":
            terms = {_stem(t) for t in keyword_terms(query.text or "")}
            scored = []
            for chunk in candidates:
                counts = Counter(_stem(w) for w in _words(chunk.content))
                score = float(sum(counts[t] for t in terms))
                if score:
                    scored.append(ScoredChunk(chunk=_bare(chunk), score=score))
            keyword = _best(normalised_keyword_scores(scored), query.k)
        return finish_query(query, vector, keyword)

    async def delete_file(self, index_id: str, file_id: str) -> None:
        _maybe_fail(self.config.fail_delete)
        if index_id in self.indexes:
            stored = self.indexes[index_id][1]
            for chunk_id in [c.chunk_id for c in stored.values() if c.file_id == file_id]:
                del stored[chunk_id]
            self._save()

    async def delete_chunks(self, index_id: str, chunk_ids: Sequence[str]) -> None:
        if index_id in self.indexes:
            for chunk_id in chunk_ids:
                self.indexes[index_id][1].pop(chunk_id, None)
            self._save()

    def _index(self, index_id: str) -> tuple[int, dict[str, Chunk]]:
        if index_id not in self.indexes:
            raise errors.NotFound(f"index {index_id!r} not found")
        return self.indexes[index_id]

    def _path(self) -> Path | None:
        return Path(self.config.persist_path) if self.config.persist_path else None

    def _save(self) -> None:
        path = self._path()
        if path is None:
            return
        data = {
            index_id: {"dimension": dimension, "chunks": [c.model_dump() for c in stored.values()]}
            for index_id, (dimension, stored) in self.indexes.items()
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        temporary.replace(path)


def _best(hits: list[ScoredChunk], k: int) -> list[ScoredChunk]:
    return sorted(hits, key=lambda h: (-h.score, h.chunk.chunk_id))[:k]


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _bare(chunk: Chunk) -> Chunk:
    return chunk.model_copy(update={"embedding": None})


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
