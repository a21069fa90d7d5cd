"""The vector-io conformance suite.

A provider proves itself by subclassing `VectorIOConformance` in its own tests and supplying a
`make_provider` fixture: an async factory that returns a **started** provider over the same
storage every time it is called (so the suite can restart the provider)::

    import pytest
    from ogx_api.testing.vector_io import VectorIOConformance

    class TestMyStoreConformance(VectorIOConformance):
        @pytest.fixture
        def make_provider(self, tmp_path):
            async def make():
                provider = MyStore(MyConfig(path=tmp_path))
                await provider.start()
                return provider
            return make

The suite closes every provider it made. `close()` must be idempotent. Each test uses a fresh
index id, so a shared backing store is fine. Filters are checked against the reference
`ogx_api.vector_io.matches()` on a generated set of attributes, so a provider that pushes
filters into its backend must agree with it exactly. Each docstring says what to check when the
test fails.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest

from ogx_api.errors import InvalidRequest, NotFound
from ogx_api.vector_io import (
    AttributeValue,
    Chunk,
    ComparisonFilter,
    CompoundFilter,
    Filter,
    HybridRanker,
    ScoredChunk,
    VectorIOProvider,
    VectorQuery,
    fuse,
    matches,
)

ProviderFactory = Callable[[], Awaitable[VectorIOProvider]]

DIMENSION = 4

# Known vectors: the cosine similarity to (1, 0, 0, 0) decreases down the list.
_CORPUS: list[tuple[str, str, list[float], str]] = [
    ("c-apple", "apples are red fruit that grow on trees", [1.0, 0.0, 0.0, 0.0], "file-fruit"),
    ("c-pear", "pears are green fruit, sweet and soft", [0.9, 0.3, 0.0, 0.0], "file-fruit"),
    ("c-fox", "the quick brown fox jumps over the lazy dog", [0.5, 0.5, 0.5, 0.0], "file-animals"),
    ("c-dog", "a lazy dog sleeps all day in the sun", [0.1, 0.9, 0.2, 0.0], "file-animals"),
    ("c-car", "cars drive on roads and need fuel", [0.0, 0.0, 1.0, 0.2], "file-things"),
    (
        "c-boat",
        "boats float on water and fruit boxes are shipped by boat",
        [-0.5, 0.0, 0.0, 1.0],
        "file-things",
    ),
]


def corpus_chunks() -> list[Chunk]:
    return [
        Chunk(
            chunk_id=chunk_id,
            content=content,
            embedding=embedding,
            file_id=file_id,
            attributes={"topic": file_id.removeprefix("file-"), "rank": float(i)},
            metadata={"position": i, "filename": f"{file_id}.txt"},
        )
        for i, (chunk_id, content, embedding, file_id) in enumerate(_CORPUS)
    ]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def ids(hits: list[ScoredChunk]) -> list[str]:
    return [hit.chunk.chunk_id for hit in hits]


# -- a generated attribute set and every kind of filter on it ---------------------------------

_ATTRIBUTE_VALUES: dict[str, list[AttributeValue | None]] = {
    "color": ["red", "green", "Blue", "é-accent", None],
    "size": [1.0, 2.5, -3.0, 10.0, None],
    "flag": [True, False, None],
    "mixed": ["10", 10.0, True, None],  # one key, values of every kind: comparisons must not cross kinds
}


def attribute_chunks(dimension: int = DIMENSION) -> list[Chunk]:
    """One chunk per combination of the values above (None: the key is absent), with distinct
    embeddings so every chunk can be found by a query with a large `k`."""
    chunks = []
    keys = list(_ATTRIBUTE_VALUES)
    combos = itertools.product(*(_ATTRIBUTE_VALUES[k] for k in keys))
    for i, values in enumerate(combos):
        if i % 3:  # a third of the 300 combinations keeps the set quick but still covers every value
            continue
        attributes = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
        angle = i / 300 * math.pi
        embedding = [math.cos(angle), math.sin(angle), 0.25, 0.1][:dimension]
        chunks.append(
            Chunk(chunk_id=f"attr-{i:03d}", content=f"chunk {i}", embedding=embedding, attributes=attributes)
        )
    return chunks


def generated_filters() -> list[Filter]:
    """Every operator on every key with a value of every kind, then compound filters."""
    probes: list[AttributeValue] = ["red", "Blue", "é", "10", 2.5, 10.0, -3.0, 0.0, True, False]
    comparisons: list[Filter] = []
    for key in [*_ATTRIBUTE_VALUES, "missing"]:
        for op in ("eq", "ne", "gt", "gte", "lt", "lte"):
            comparisons.extend(ComparisonFilter(type=op, key=key, value=v) for v in probes)
        for op in ("in", "nin"):
            comparisons.append(ComparisonFilter(type=op, key=key, value=["red", "green", 2.5, "10"]))
            comparisons.append(ComparisonFilter(type=op, key=key, value=[10.0, -3.0]))
            comparisons.append(ComparisonFilter(type=op, key=key, value=[]))
    red = ComparisonFilter(type="eq", key="color", value="red")
    big = ComparisonFilter(type="gte", key="size", value=2.5)
    flagged = ComparisonFilter(type="eq", key="flag", value=True)
    compounds: list[Filter] = [
        CompoundFilter(type="and", filters=[red, big]),
        CompoundFilter(type="or", filters=[red, big]),
        CompoundFilter(type="and", filters=[CompoundFilter(type="or", filters=[red, flagged]), big]),
        CompoundFilter(type="or", filters=[CompoundFilter(type="and", filters=[red, flagged]), big]),
        CompoundFilter(type="and", filters=[]),
        CompoundFilter(type="or", filters=[]),
    ]
    return comparisons + compounds


class VectorIOConformance:
    """Base class of a vector-io provider's conformance tests. See the module docstring."""

    dimension: ClassVar[int] = DIMENSION

    # -- fixtures ---------------------------------------------------------------------------

    @pytest.fixture
    def make_provider(self) -> ProviderFactory:
        pytest.fail(
            f"{type(self).__name__} must define a `make_provider` fixture: an async factory of started "
            "providers over the same storage"
        )

    @pytest.fixture
    async def opened(self, make_provider: ProviderFactory) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
        """`await opened()` makes a provider that is closed when the test ends."""
        made: list[VectorIOProvider] = []

        async def open_one() -> VectorIOProvider:
            provider = await make_provider()
            made.append(provider)
            return provider

        yield open_one
        for provider in reversed(made):
            await provider.close()

    @pytest.fixture
    async def provider(self, opened: Callable[[], Awaitable[VectorIOProvider]]) -> VectorIOProvider:
        return await opened()

    @pytest.fixture
    def index_id(self) -> str:
        return f"vs_{uuid.uuid4().hex}"

    @pytest.fixture
    async def corpus(self, provider: VectorIOProvider, index_id: str) -> list[Chunk]:
        chunks = corpus_chunks()
        await provider.create_index(index_id, self.dimension)
        await provider.insert(index_id, chunks)
        return chunks

    # -- inserting and searching by vector ----------------------------------------------------

    async def test_protocol(self, provider: VectorIOProvider) -> None:
        """The provider implements `VectorIOProvider` (create_index, delete_index, insert, query,
        delete_file, delete_chunks, and the lifecycle)."""
        assert isinstance(provider, VectorIOProvider)

    async def test_vector_query_ranks_by_cosine_similarity(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Hits come best first with their cosine similarity as the score (vectors are not
        assumed normalised). If this fails: check the normalisation and the distance → score
        conversion (pgvector's `<=>` is a distance: score = 1 - distance)."""
        query = [2.0, 0.1, 0.0, 0.0]
        hits = await provider.query(index_id, VectorQuery(embedding=query, k=len(corpus)))
        expected = sorted(corpus, key=lambda c: -cosine(query, c.embedding or []))
        assert ids(hits) == [c.chunk_id for c in expected]
        for hit, chunk in zip(hits, expected, strict=True):
            assert hit.score == pytest.approx(cosine(query, chunk.embedding or []), abs=1e-4)

    async def test_k_limits_and_hits_round_trip_the_chunk(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """`k` bounds the hits; each hit carries the chunk's content, file id, attributes and
        metadata exactly as inserted, without its embedding."""
        hits = await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=2))
        assert ids(hits) == ["c-apple", "c-pear"]
        apple = corpus[0]
        assert hits[0].chunk == apple.model_copy(update={"embedding": None})

    async def test_score_threshold_drops_weaker_hits(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Hits scoring below `score_threshold` are dropped; the others are all returned."""
        query = [1.0, 0.0, 0.0, 0.0]
        hits = await provider.query(index_id, VectorQuery(embedding=query, k=10, score_threshold=0.5))
        expected = {c.chunk_id for c in corpus if cosine(query, c.embedding or []) >= 0.5}
        assert set(ids(hits)) == expected and all(h.score >= 0.5 for h in hits)

    async def test_upsert_replaces_a_chunk_with_the_same_id(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Inserting an existing `chunk_id` replaces the chunk (content, embedding, attributes):
        no duplicate hit, the old embedding no longer finds it."""
        replaced = Chunk(
            chunk_id="c-apple", content="now about engines", embedding=[0, 0, 0, 1], file_id="f2"
        )
        await provider.insert(index_id, [replaced])
        hits = await provider.query(index_id, VectorQuery(embedding=[0, 0, 0, 1], k=10))
        assert ids(hits).count("c-apple") == 1 and len(hits) == len(corpus)
        assert hits[0].chunk.chunk_id == "c-apple" and hits[0].chunk.content == "now about engines"
        keyword = await provider.query(index_id, VectorQuery(mode="keyword", text="apples", k=10))
        assert "c-apple" not in ids(keyword)

    async def test_insert_is_idempotent(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Inserting the same chunks again changes nothing."""
        await provider.insert(index_id, corpus)
        hits = await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=100))
        assert sorted(ids(hits)) == sorted(c.chunk_id for c in corpus)

    async def test_concurrent_inserts_and_queries(self, provider: VectorIOProvider, index_id: str) -> None:
        """Inserts and queries running at once neither fail nor lose chunks."""
        await provider.create_index(index_id, self.dimension)
        batches = [
            [
                Chunk(chunk_id=f"b{b}-{i}", content=f"batch {b} item {i}", embedding=[1, b, i, 1])
                for i in range(5)
            ]
            for b in range(6)
        ]
        query = VectorQuery(embedding=[1, 0, 0, 0], k=5)
        await asyncio.gather(
            *(provider.insert(index_id, batch) for batch in batches),
            *(provider.query(index_id, query) for _ in range(6)),
        )
        hits = await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=100))
        assert len(hits) == 30

    # -- keyword and hybrid -------------------------------------------------------------------

    async def test_keyword_query_ranks_by_text_relevance(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Keyword search finds the chunks containing the words (stemmed: "fruits" finds
        "fruit"), the best scoring 1.0 and the rest in (0, 1], best first."""
        hits = await provider.query(index_id, VectorQuery(mode="keyword", text="lazy dogs", k=10))
        assert set(ids(hits)) == {"c-fox", "c-dog"}
        assert hits[0].score == pytest.approx(1.0)
        assert all(0 < h.score <= 1.0 + 1e-9 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        fruit = await provider.query(index_id, VectorQuery(mode="keyword", text="Fruits?", k=10))
        assert set(ids(fruit)) == {"c-apple", "c-pear", "c-boat"}

    async def test_keyword_query_tolerates_any_text(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Punctuation, quotes, operators of the backend's query syntax and stop words alone are
        searched as plain text, never an error."""
        for text in ['"', "the", "AND OR NOT", "fox* -dog (", "a:b & c | !d", "   "]:
            hits = await provider.query(index_id, VectorQuery(mode="keyword", text=text, k=5))
            assert all(isinstance(h, ScoredChunk) for h in hits)
        hits = await provider.query(index_id, VectorQuery(mode="keyword", text="fox* -dog (", k=5))
        assert "c-fox" in ids(hits)

    @pytest.mark.parametrize("ranker", [HybridRanker(type="rrf"), HybridRanker(type="weighted", alpha=0.3)])
    async def test_hybrid_query_fuses_vector_and_keyword(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk], ranker: HybridRanker
    ) -> None:
        """Hybrid = `fuse()` of the vector and keyword lists (each `k` deep) with the ranker.
        If this fails: check that the keyword scores are normalised before fusing and that the
        provider calls `ogx_api.vector_io.fuse`."""
        embedding, text, k = [0.2, 1.0, 0.0, 0.0], "fruit dog", 10
        vector = await provider.query(index_id, VectorQuery(embedding=embedding, k=k))
        keyword = await provider.query(index_id, VectorQuery(mode="keyword", text=text, k=k))
        hybrid = await provider.query(
            index_id, VectorQuery(mode="hybrid", embedding=embedding, text=text, k=k, ranker=ranker)
        )
        expected = fuse(vector, keyword, ranker, k)
        assert ids(hybrid) == ids(expected)
        assert [h.score for h in hybrid] == pytest.approx([h.score for h in expected])
        top3 = await provider.query(
            index_id, VectorQuery(mode="hybrid", embedding=embedding, text=text, k=3, ranker=ranker)
        )
        assert len(top3) == 3

    async def test_hybrid_score_threshold_applies_after_fusion(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """`score_threshold` compares with the fused score."""
        ranker = HybridRanker(type="weighted", alpha=0.5)
        base = VectorQuery(mode="hybrid", embedding=[1, 0, 0, 0], text="fruit", k=10, ranker=ranker)
        hits = await provider.query(index_id, base)
        threshold = hits[2].score
        kept = await provider.query(index_id, base.model_copy(update={"score_threshold": threshold}))
        assert ids(kept) == [h.chunk.chunk_id for h in hits if h.score >= threshold]

    # -- filters ------------------------------------------------------------------------------

    async def test_filters_match_the_reference_semantics(
        self, provider: VectorIOProvider, index_id: str
    ) -> None:
        """For every operator, key and kind of value (and compound filters), a filtered query
        returns exactly the chunks `ogx_api.vector_io.matches()` accepts. If this fails: the
        message names the filter; check type handling (numbers vs strings vs booleans, a missing
        key never matching, `ne`/`nin` on a missing key, string order by code point)."""
        chunks = attribute_chunks(self.dimension)
        await provider.create_index(index_id, self.dimension)
        await provider.insert(index_id, chunks)
        embedding = [1.0, 0.0, 0.0, 0.0][: self.dimension]
        for filter_ in generated_filters():
            expected = {c.chunk_id for c in chunks if matches(filter_, c.attributes)}
            hits = await provider.query(index_id, VectorQuery(embedding=embedding, k=1000, filters=filter_))
            assert set(ids(hits)) == expected, filter_

    async def test_filtered_query_still_returns_k_best(
        self, provider: VectorIOProvider, index_id: str
    ) -> None:
        """With a filter, a query returns the `k` best matching chunks when that many exist
        (over-fetching or pushing the filter into the search, never filtering a top-k after the
        fact), for vector, keyword and hybrid."""
        chunks = attribute_chunks(self.dimension)
        await provider.create_index(index_id, self.dimension)
        await provider.insert(index_id, chunks)
        embedding = [1.0, 0.0, 0.0, 0.0][: self.dimension]
        rare = ComparisonFilter(type="eq", key="color", value="é-accent")
        matching = [c for c in chunks if matches(rare, c.attributes)]
        best = sorted(matching, key=lambda c: (-cosine(embedding, c.embedding or []), c.chunk_id))[:3]
        hits = await provider.query(index_id, VectorQuery(embedding=embedding, k=3, filters=rare))
        assert ids(hits) == [c.chunk_id for c in best]
        keyword = await provider.query(index_id, VectorQuery(mode="keyword", text="chunk", k=3, filters=rare))
        assert len(keyword) == 3 and set(ids(keyword)) <= {c.chunk_id for c in matching}
        hybrid = await provider.query(
            index_id, VectorQuery(mode="hybrid", embedding=embedding, text="chunk", k=3, filters=rare)
        )
        assert len(hybrid) == 3 and set(ids(hybrid)) <= {c.chunk_id for c in matching}

    # -- deleting -----------------------------------------------------------------------------

    async def test_delete_file_removes_its_chunks(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """After `delete_file`, neither vector nor keyword search returns the file's chunks;
        the others remain; deleting again (or an unknown file) is a no-op."""
        await provider.delete_file(index_id, "file-fruit")
        await provider.delete_file(index_id, "file-fruit")
        await provider.delete_file(index_id, "file-never-there")
        hits = await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=10))
        assert set(ids(hits)) == {c.chunk_id for c in corpus if c.file_id != "file-fruit"}
        keyword = await provider.query(index_id, VectorQuery(mode="keyword", text="fruit", k=10))
        assert ids(keyword) == ["c-boat"]

    async def test_delete_chunks(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """`delete_chunks` removes exactly the named chunks; unknown ids are ignored."""
        await provider.delete_chunks(index_id, ["c-apple", "c-dog", "c-unknown"])
        await provider.delete_chunks(index_id, ["c-apple"])
        hits = await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=10))
        assert set(ids(hits)) == {"c-pear", "c-fox", "c-car", "c-boat"}
        keyword = await provider.query(index_id, VectorQuery(mode="keyword", text="lazy dog", k=10))
        assert ids(keyword) == ["c-fox"]

    async def test_delete_index(self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]) -> None:
        """After `delete_index` the index is unknown (NotFound); deleting it again is a no-op;
        deleting files or chunks of an unknown index is a no-op; it can be created afresh, empty."""
        await provider.delete_index(index_id)
        await provider.delete_index(index_id)
        await provider.delete_file(index_id, "file-fruit")
        await provider.delete_chunks(index_id, ["c-apple"])
        with pytest.raises(NotFound):
            await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0]))
        await provider.create_index(index_id, self.dimension)
        assert await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0])) == []

    # -- errors -------------------------------------------------------------------------------

    async def test_unknown_index_is_not_found(self, provider: VectorIOProvider) -> None:
        """Querying or inserting into an index never created raises `NotFound`."""
        with pytest.raises(NotFound):
            await provider.query("vs_unknown", VectorQuery(embedding=[1, 0, 0, 0]))
        with pytest.raises(NotFound):
            await provider.insert("vs_unknown", corpus_chunks()[:1])

    async def test_create_index_is_idempotent_for_the_same_dimension(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """Creating an existing index again with its dimension keeps its chunks; with another
        dimension it is refused (`InvalidRequest`)."""
        await provider.create_index(index_id, self.dimension)
        assert len(await provider.query(index_id, VectorQuery(embedding=[1, 0, 0, 0], k=10))) == len(corpus)
        with pytest.raises(InvalidRequest):
            await provider.create_index(index_id, self.dimension + 1)

    async def test_wrong_dimension_is_invalid_and_inserts_nothing(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """An embedding of the wrong dimension (inserted or queried), a missing one or one with
        NaN is `InvalidRequest`; a batch with one bad chunk leaves none of its chunks behind."""
        good = Chunk(chunk_id="new-good", content="fresh words", embedding=[0, 0, 0, 1])
        bad = Chunk(chunk_id="new-bad", content="fresh words", embedding=[0, 0, 1])
        with pytest.raises(InvalidRequest):
            await provider.insert(index_id, [good, bad])
        with pytest.raises(InvalidRequest):
            await provider.insert(index_id, [Chunk(chunk_id="new-none", content="no vector")])
        with pytest.raises(InvalidRequest):
            nan = Chunk(chunk_id="new-nan", content="fresh words", embedding=[math.nan, 0, 0, 1])
            await provider.insert(index_id, [good, nan])
        with pytest.raises(InvalidRequest):
            await provider.query(index_id, VectorQuery(embedding=[1, 0, 0]))
        hits = await provider.query(index_id, VectorQuery(mode="keyword", text="fresh", k=10))
        assert hits == []

    async def test_query_missing_its_inputs_is_invalid(
        self, provider: VectorIOProvider, index_id: str, corpus: list[Chunk]
    ) -> None:
        """`vector`/`hybrid` without an embedding, `keyword`/`hybrid` without text: `InvalidRequest`."""
        for query in (
            VectorQuery(mode="vector", text="fruit"),
            VectorQuery(mode="keyword", embedding=[1, 0, 0, 0]),
            VectorQuery(mode="hybrid", embedding=[1, 0, 0, 0]),
            VectorQuery(mode="hybrid", text="fruit"),
        ):
            with pytest.raises(InvalidRequest):
                await provider.query(index_id, query)

    # -- persistence --------------------------------------------------------------------------

    async def test_index_survives_a_restart(
        self,
        provider: VectorIOProvider,
        opened: Callable[[], Awaitable[VectorIOProvider]],
        index_id: str,
        corpus: list[Chunk],
    ) -> None:
        """A new provider over the same storage answers as before: chunks, deletions, the
        index's dimension, vector and keyword search."""
        await provider.delete_chunks(index_id, ["c-dog"])
        query = VectorQuery(mode="hybrid", embedding=[0.2, 1, 0, 0], text="lazy fruit", k=10)
        before = await provider.query(index_id, query)
        await provider.close()
        again = await opened()
        after = await again.query(index_id, query)
        assert ids(after) == ids(before) and "c-dog" not in ids(after)
        with pytest.raises(InvalidRequest):
            await again.create_index(index_id, self.dimension + 1)
        await again.insert(index_id, [Chunk(chunk_id="c-late", content="late", embedding=[0, 0, 0, 1])])
        hits = await again.query(index_id, VectorQuery(embedding=[0, 0, 0, 1], k=1))
        assert ids(hits) == ["c-late"]
