"""Search of a vector store: validate the filters against the store's attributes, embed the
query with the store's model, ask the provider, and shape the hits as OpenAI's
`vector_store.search_results.page`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from ogx.deferred import deferred_adapter
from ogx.server.errors import invalid_request
from ogx.vector_stores import rows
from ogx.vector_stores.embedding import embed
from ogx.vector_stores.models import Filter, RankingOptions
from ogx_api import InvalidRequest
from ogx_api.vector_io import ComparisonFilter, CompoundFilter, HybridRanker, ScoredChunk, VectorQuery

if TYPE_CHECKING:
    from ogx.vector_stores.service import VectorStoresService

_filter = deferred_adapter(Filter)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "please",
        "should",
        "tell",
        "the",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


def as_filter(value: Any) -> Any:
    if value is None or isinstance(value, ComparisonFilter | CompoundFilter):
        return value
    try:
        return _filter.validate_python(value)
    except ValidationError as exc:
        raise invalid_request(exc, value) from None


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], value: Any) -> M:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise invalid_request(exc, value) from None


def rewrite(query: str) -> str:
    """`rewrite_query`: the query's content words (question words, articles and punctuation
    dropped), which is what both the keyword index and the embedding should weigh."""
    words = [w for w in _WORD.findall(query.lower()) if w not in _STOPWORDS]
    return " ".join(words) or query


def filter_keys(filter_: Any) -> Iterator[str]:
    if isinstance(filter_, CompoundFilter):
        for inner in filter_.filters:
            yield from filter_keys(inner)
    elif filter_ is not None:
        yield filter_.key


async def check_filter_keys(service: VectorStoresService, store_id: str, filter_: Any) -> None:
    """A filter on an attribute that no file of the store has is a mistake (a typo, usually):
    say so instead of silently matching nothing."""
    keys = set(filter_keys(filter_))
    if not keys:
        return
    async with service.engine.connect() as conn:
        present: set[str] = set()
        for attributes in await conn.scalars(
            sa.select(rows.files.c.attributes).where(rows.files.c.vector_store_id == store_id)
        ):
            present.update(attributes or {})
    missing = sorted(keys - present)
    if missing:
        known = ", ".join(sorted(present)) or "none"
        raise InvalidRequest(
            f"filters use attribute {missing[0]!r}, which no file in vector store {store_id!r} has; "
            f"attributes present: {known}",
            param="filters",
            code="unknown_attribute",
        )


async def search(
    service: VectorStoresService,
    store_id: str,
    *,
    query: str | list[str],
    filters: Any,
    max_num_results: int,
    ranking_options: Any,
    search_mode: str | None,
    rewrite_query: bool,
    hybrid_ranker: Any,
    owner: str | None,
) -> dict[str, Any]:
    if not 1 <= max_num_results <= 50:
        raise InvalidRequest("max_num_results must be between 1 and 50", param="max_num_results")
    queries = [query] if isinstance(query, str) else list(query)
    if not queries or not all(q.strip() for q in queries):
        raise InvalidRequest("query must be a non-empty string or list of non-empty strings", param="query")
    mode = search_mode or "vector"
    if mode not in ("vector", "keyword", "hybrid"):
        raise InvalidRequest(
            f"unknown search_mode {mode!r}; one of: vector, keyword, hybrid", param="search_mode"
        )
    options = _validated(RankingOptions, ranking_options or {})
    ranker = None if hybrid_ranker is None else _validated(HybridRanker, hybrid_ranker)
    filter_ = as_filter(filters)
    store = await service.store(store_id, owner)
    if store.expires_at is not None and store.expires_at <= service.clock() // rows.NS:
        raise InvalidRequest(
            f"vector store {store_id!r} has expired", param="vector_store_id", code="expired"
        )
    if rewrite_query:
        queries = [rewrite(q) for q in queries]
    text = " ".join(queries)
    embedding = None
    # The filter check reads the database while the model embeds the query.
    checked = asyncio.ensure_future(check_filter_keys(service, store_id, filter_))
    try:
        if mode != "keyword":
            embedding = (await embed(service.inference, store.embedding_model, [text]))[0]
    finally:
        await checked
    vector_query = VectorQuery(
        mode=mode,  # type: ignore[arg-type]
        embedding=embedding,
        text=text if mode != "vector" else None,
        k=max_num_results,
        filters=filter_,
        score_threshold=options.score_threshold or None,
        **({"ranker": ranker} if ranker is not None else {}),
    )
    hits = await service.provider(store).query(store_id, vector_query)
    await service.touch(store_id, known_last_active_at=store.last_active_at)
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [result_item(hit) for hit in hits[:max_num_results]],
        "has_more": False,
        "next_page": None,
    }


def result_item(hit: ScoredChunk) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "file_id": chunk.file_id or "",
        "filename": str(chunk.metadata.get("filename", chunk.file_id or "")),
        "score": min(1.0, max(0.0, hit.score)),
        "attributes": dict(chunk.attributes),
        "content": [{"type": "text", "text": chunk.content}],
    }
