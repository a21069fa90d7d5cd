"""The vector-io contract: chunks, filters, queries, and the `VectorIOProvider` protocol
(API `vector_io`).

A vector-io provider keeps **indexes** (one per vector store, named by the core) of **chunks**:
a text, its embedding, the file it came from and the file's filterable `attributes`. The core
owns everything else about a vector store (its row, files, status, counts, ingestion); the
provider only stores chunks and answers queries::

    await index.create_index("vs_abc", dimension=384)
    await index.insert("vs_abc", [Chunk(chunk_id="...", content="...", embedding=[...], file_id="file-1")])
    hits = await index.query("vs_abc", VectorQuery(mode="hybrid", embedding=[...], text="...", k=10))
    await index.delete_file("vs_abc", "file-1")

Scores: `vector` is cosine similarity (higher is closer); `keyword` is the provider's full-text
relevance (Okapi BM25 over `document_terms`, higher is better, normalised to `[0, 1]` within one result list
by dividing by the best score); `hybrid` fuses both lists — `rrf` (reciprocal rank fusion,
`1 / (rrf_k + rank)` summed, rank from 1) or `weighted` (`alpha * vector + (1 - alpha) * keyword`
on the normalised scores). `score_threshold` drops hits scoring below it after fusion.

Errors: `NotFound` for an unknown index; `InvalidRequest` for an embedding of the wrong
dimension or a malformed filter; `ProviderUnavailable` when the backing store cannot be reached.
Writes are all-or-nothing per call: an `insert` that fails leaves none of its chunks behind.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ogx_api.errors import InvalidRequest
from ogx_api.provider import Provider

AttributeValue = str | float | bool
"""What an attribute holds (OpenAI's vector store file `attributes`); ints are floats here."""


class Chunk(BaseModel):
    """One piece of a file, ready to index.

    `chunk_id` is unique within an index (inserting an existing id replaces it). `embedding` is
    required for `insert`; `metadata` is returned with a hit but never filtered on (filename,
    position, token count, …).
    """

    model_config = ConfigDict(frozen=True)

    chunk_id: str = Field(min_length=1)
    content: str
    embedding: list[float] | None = None
    file_id: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


# -- filters: OpenAI's ComparisonFilter and CompoundFilter, on `attributes` --------------------


class ComparisonFilter(BaseModel):
    """`attributes[key] <op> value`. `in`/`nin` take a list. A chunk without the key never
    matches a comparison (not even `ne`/`nin`). Numbers compare as numbers, strings as strings;
    a comparison across types does not match."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"] = "eq"
    key: str = Field(min_length=1)
    value: AttributeValue | list[str | float]


class CompoundFilter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["and", "or"]
    filters: list[Annotated[ComparisonFilter | CompoundFilter, Field(union_mode="left_to_right")]]


Filter = ComparisonFilter | CompoundFilter


def matches(filter_: Filter | None, attributes: dict[str, AttributeValue]) -> bool:
    """Whether `attributes` pass `filter_` — the reference semantics every provider must match
    (the conformance suite checks providers against it)."""
    if filter_ is None:
        return True
    if isinstance(filter_, CompoundFilter):
        results = (matches(f, attributes) for f in filter_.filters)
        return all(results) if filter_.type == "and" else any(results)
    if filter_.key not in attributes:
        return False
    actual = attributes[filter_.key]
    expected = filter_.value
    if filter_.type in ("in", "nin"):
        values = expected if isinstance(expected, list) else [expected]
        found = any(_same_kind(actual, v) and actual == v for v in values)
        return found if filter_.type == "in" else not found
    if isinstance(expected, list) or not _same_kind(actual, expected):
        return False
    if filter_.type == "eq":
        return actual == expected
    if filter_.type == "ne":
        return actual != expected
    if isinstance(actual, bool):  # booleans only compare for equality
        return False
    return {
        "gt": actual > expected,  # type: ignore[operator]
        "gte": actual >= expected,  # type: ignore[operator]
        "lt": actual < expected,  # type: ignore[operator]
        "lte": actual <= expected,  # type: ignore[operator]
    }[filter_.type]


def _same_kind(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return True
    return isinstance(a, str) and isinstance(b, str)


# -- queries -----------------------------------------------------------------------------------


class HybridRanker(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["rrf", "weighted"] = "rrf"
    rrf_k: float = Field(default=60.0, gt=0)
    alpha: float = Field(default=0.5, ge=0, le=1, description="weight of the vector score")


class VectorQuery(BaseModel):
    """`embedding` is required for `vector` and `hybrid`, `text` for `keyword` and `hybrid`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    embedding: list[float] | None = None
    text: str | None = None
    k: int = Field(default=10, ge=1, le=1000)
    filters: Filter | None = None
    score_threshold: float | None = None
    ranker: HybridRanker = Field(default_factory=HybridRanker)


class ScoredChunk(BaseModel):
    """A hit: the chunk (without its embedding) and its score; best first in a result list."""

    model_config = ConfigDict(frozen=True)

    chunk: Chunk
    score: float


@runtime_checkable
class VectorIOProvider(Provider, Protocol):
    """Stores chunks in named indexes and answers vector, keyword and hybrid queries.

    `create_index` is idempotent for the same dimension (`InvalidRequest` for another);
    `delete_index`, `delete_file` and `delete_chunks` are idempotent, and no-ops on an unknown
    index (`insert` and `query` raise `NotFound` for one). Indexes survive a restart of the
    provider. In `hybrid` mode both lists are fetched `k` deep, then fused (`fuse`). `close()`
    is idempotent.
    """

    async def create_index(self, index_id: str, dimension: int) -> None: ...

    async def delete_index(self, index_id: str) -> None: ...

    async def insert(self, index_id: str, chunks: Sequence[Chunk]) -> None: ...

    async def query(self, index_id: str, query: VectorQuery) -> list[ScoredChunk]: ...

    async def delete_file(self, index_id: str, file_id: str) -> None: ...

    async def delete_chunks(self, index_id: str, chunk_ids: Sequence[str]) -> None: ...


def fuse(
    vector_hits: Sequence[ScoredChunk], keyword_hits: Sequence[ScoredChunk], ranker: HybridRanker, k: int
) -> list[ScoredChunk]:
    """The hybrid fusion every provider uses (so results agree across providers): inputs best
    first; keyword scores already normalised to [0, 1]."""
    by_id: dict[str, Chunk] = {}
    scores: dict[str, float] = {}
    for weight, hits in ((ranker.alpha, vector_hits), (1 - ranker.alpha, keyword_hits)):
        for rank, hit in enumerate(hits, start=1):
            by_id.setdefault(hit.chunk.chunk_id, hit.chunk)
            contribution = 1.0 / (ranker.rrf_k + rank) if ranker.type == "rrf" else weight * hit.score
            scores[hit.chunk.chunk_id] = scores.get(hit.chunk.chunk_id, 0.0) + contribution
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [ScoredChunk(chunk=by_id[chunk_id], score=score) for chunk_id, score in best]


# -- helpers every provider shares -------------------------------------------------------------


def check_embedding(embedding: list[float] | None, dimension: int, what: str) -> list[float]:
    """`InvalidRequest` (naming `what`) for a missing, mis-sized or non-finite embedding."""
    if embedding is None:
        raise InvalidRequest(f"{what} has no embedding", param="embedding")
    if len(embedding) != dimension:
        raise InvalidRequest(
            f"{what} has an embedding of dimension {len(embedding)}; the index has dimension {dimension}",
            param="embedding",
        )
    if not all(math.isfinite(x) for x in embedding):
        raise InvalidRequest(f"{what} has a non-finite number in its embedding", param="embedding")
    return embedding


def check_query(query: VectorQuery) -> None:
    """`InvalidRequest` when the query lacks the embedding or text its mode needs."""
    if query.mode in ("vector", "hybrid") and query.embedding is None:
        raise InvalidRequest(f"a {query.mode} query needs an embedding", param="embedding")
    if query.mode in ("keyword", "hybrid") and query.text is None:
        raise InvalidRequest(f"a {query.mode} query needs text", param="text")


def finish_query(
    query: VectorQuery, vector_hits: list[ScoredChunk], keyword_hits: list[ScoredChunk]
) -> list[ScoredChunk]:
    """The hits of `query` from its vector and keyword lists (each best first, keyword scores
    normalised): the list of its mode, or both fused for `hybrid`; then `score_threshold`."""
    if query.mode == "hybrid":
        hits = fuse(vector_hits, keyword_hits, query.ranker, query.k)
    else:
        hits = vector_hits if query.mode == "vector" else keyword_hits
    if query.score_threshold is not None:
        hits = [h for h in hits if h.score >= query.score_threshold]
    return hits


_WORD = re.compile(r"\w+")


def keyword_terms(text: str) -> list[str]:
    """The distinct words of a keyword query, lowercased, in order. Providers search these (any
    of them, ranked by relevance) rather than parse `text` in their backend's query syntax, so
    quotes and operators in user text are inert."""
    return list(dict.fromkeys(_WORD.findall(text.lower())))


# -- BM25: one tokeniser and one formula, so every provider ranks keyword hits alike -----------

BM25_K1 = 1.2
BM25_B = 0.75
_MAX_TERM = 100  # characters: a longer "word" (a hash, a blob) is cut, so it fits any index key
_VOWELS = frozenset("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English stemmer (Porter's step 1: plurals and -ed/-ing)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("sses", "ss"), ("ies", "i"), ("ss", "ss"), ("s", "")):
        if word.endswith(suffix):
            word = word[: len(word) - len(suffix)] + replacement
            break
    for suffix in ("eed", "ingly", "edly", "ing", "ed"):
        base = word[: len(word) - len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and _VOWELS.intersection(base):
            return base + ("ee" if suffix == "eed" else "")
    return word


def query_terms(text: str) -> list[str]:
    """The distinct stemmed terms of a keyword query, in order."""
    return list(dict.fromkeys(stem(word[:_MAX_TERM]) for word in keyword_terms(text))) if text else []


def document_terms(text: str) -> tuple[int, Counter[str]]:
    """A chunk's BM25 length (words, at least 1) and its stemmed terms' frequencies."""
    words = [stem(word[:_MAX_TERM]) for word in _WORD.findall(text.lower())]
    return max(len(words), 1), Counter(words)


def bm25_idf(documents: int, document_frequency: int) -> float:
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


def normalised_keyword_scores(hits: list[ScoredChunk]) -> list[ScoredChunk]:
    """Keyword scores divided by the best one (the contract's [0, 1] normalisation)."""
    best = max((h.score for h in hits), default=0.0)
    if best <= 0:
        return hits
    return [ScoredChunk(chunk=h.chunk, score=h.score / best) for h in hits]
