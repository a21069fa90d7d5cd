"""`inline::faiss`: vector indexes in process, persisted under a directory.

Each index is a SQLite file (`ChunkStore`: chunks and embeddings; the source of truth), and in
memory a FAISS HNSW graph (`VectorGraph`), loaded from its snapshot when the snapshot matches the
store's version, else rebuilt from the store, and a BM25 index (`KeywordIndex`), built from the
stored text. Snapshots are written when the provider closes, so a crash costs a rebuild at the
next start, never data.

Every blocking call runs in a worker thread; one lock per index serialises the calls on it
(FAISS and sqlite3 objects are not safe to share between threads while writing).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ogx_api import BaseProvider, HealthState, HealthStatus, InvalidRequest, NotFound
from ogx_api.paths import run_data_dir
from ogx_api.vector_io import (
    Chunk,
    Filter,
    ScoredChunk,
    VectorQuery,
    check_embedding,
    check_query,
    finish_query,
    matches,
    normalised_keyword_scores,
)
from ogx_faiss.config import FaissConfig
from ogx_faiss.keywords import KeywordIndex
from ogx_faiss.store import ChunkStore, Row
from ogx_faiss.vectors import GraphParams, VectorGraph, normalise

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_T = TypeVar("_T")


def default_storage_dir() -> Path:
    """Where an unnamed run config keeps its indexes (the core fills in the named config's own
    directory when it validates the config: see `FaissConfig`)."""
    return run_data_dir(None) / "faiss"


def validated_vectors(chunks: Sequence[Chunk], dimension: int) -> np.ndarray:
    """The chunks' embeddings, normalised, as a float32 matrix; `InvalidRequest` naming the
    first chunk whose embedding is missing, mis-sized or not finite."""
    for chunk in chunks:
        if chunk.embedding is None or len(chunk.embedding) != dimension:
            check_embedding(chunk.embedding, dimension, f"chunk {chunk.chunk_id!r}")
    vectors = np.array([c.embedding for c in chunks], dtype=np.float32).reshape(len(chunks), dimension)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = chunks[int(np.argmin(finite))]
        check_embedding(bad.embedding, dimension, f"chunk {bad.chunk_id!r}")
        raise InvalidRequest(
            f"chunk {bad.chunk_id!r} has an embedding beyond float32's range", param="embedding"
        )
    return normalise(vectors)


class _Index:
    """One open index: its store, its graph and the lock serialising both."""

    def __init__(
        self, index_id: str, store: ChunkStore, graph: VectorGraph, keywords: KeywordIndex, snapshot: Path
    ) -> None:
        self.index_id = index_id
        self.store = store
        self.graph = graph
        self.keywords = keywords
        self.snapshot = snapshot
        self.lock = threading.Lock()
        self.closed = False
        self.saved_version = -1

    @property
    def dimension(self) -> int:
        return self.graph.dimension

    def run(self, work: Callable[[], _T]) -> _T:
        with self.lock:
            if self.closed:
                raise NotFound(f"vector index {self.index_id!r} not found", param="index_id")
            return work()

    def insert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        replaced, added = self.store.upsert(chunks, vectors)
        self.graph.remove(replaced)
        self.keywords.remove(replaced)
        self.graph.add([Row(label, c.attributes) for label, c in zip(added, chunks, strict=True)], vectors)
        self.keywords.add_many((label, c.content) for label, c in zip(added, chunks, strict=True))

    def delete(self, column: str, values: Sequence[str]) -> None:
        labels = self.store.delete(column, values)
        self.graph.remove(labels)
        self.keywords.remove(labels)

    def search(self, query: VectorQuery) -> tuple[list[ScoredChunk], list[ScoredChunk]]:
        """The vector and keyword hits the query's mode asks for (keyword scores normalised),
        their chunks read from the store in one go."""
        vector: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if query.mode != "keyword":
            embedding = normalise(np.array([query.embedding], dtype=np.float32))[0]
            vector = self.graph.search(embedding, query.k, query.filters)
        if query.mode != "vector":
            accept = None if query.filters is None else functools.partial(self._passes, query.filters)
            keyword = self.keywords.search(query.text or "", query.k, accept)
        chunks = self.store.chunks(list({label for label, _ in (*vector, *keyword)}))

        def scored(hits: list[tuple[int, float]]) -> list[ScoredChunk]:
            return [ScoredChunk(chunk=chunks[label], score=score) for label, score in hits if label in chunks]

        return scored(vector), normalised_keyword_scores(scored(keyword))

    def _passes(self, filters: Filter, label: int) -> bool:
        return matches(filters, self.graph.attributes_of(label) or {})

    def save(self) -> None:
        version = self.store.version
        if version != self.saved_version:
            self.graph.save(self.snapshot, version)
            self.saved_version = version

    def close(self, save: bool) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if save:
                self.save()
        finally:
            self.store.close()


class FaissVectorIO(BaseProvider):
    def __init__(self, config: FaissConfig) -> None:
        self.config = config
        self.storage_dir = (config.storage_dir or default_storage_dir()).expanduser()
        self.params = GraphParams(
            m=config.hnsw_m,
            ef_construction=config.ef_construction,
            ef_search=config.ef_search,
            exact_search_max=config.exact_search_max,
            compact_dead_fraction=config.compact_dead_fraction,
        )
        self._indexes: dict[str, _Index] = {}
        self._registry = asyncio.Lock()  # opening, creating and deleting indexes

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.storage_dir.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        async with self._registry:
            indexes, self._indexes = list(self._indexes.values()), {}
        for index in indexes:
            await asyncio.to_thread(self._locked_close, index, True)

    async def health(self) -> HealthStatus:
        if not self.storage_dir.is_dir():
            return HealthStatus(status=HealthState.error, message=f"{self.storage_dir} is not a directory")
        return HealthStatus(status=HealthState.ok)

    # -- indexes ---------------------------------------------------------------------------

    async def create_index(self, index_id: str, dimension: int) -> None:
        if dimension < 1:
            raise InvalidRequest(f"dimension must be positive, not {dimension}", param="dimension")
        async with self._registry:
            index = await self._open(index_id)
            if index is None:
                self._indexes[index_id] = await asyncio.to_thread(self._create, index_id, dimension)
            elif index.dimension != dimension:
                raise InvalidRequest(
                    f"vector index {index_id!r} exists with dimension {index.dimension}, not {dimension}",
                    param="dimension",
                )

    async def delete_index(self, index_id: str) -> None:
        async with self._registry:
            index = await self._open(index_id)
            self._indexes.pop(index_id, None)
            if index is not None:
                await asyncio.to_thread(self._locked_close, index, False)
                await asyncio.to_thread(self._remove_files, index_id)

    # -- chunks ----------------------------------------------------------------------------

    async def insert(self, index_id: str, chunks: Sequence[Chunk]) -> None:
        index = await self._require(index_id)
        if not chunks:
            return
        chunks = list({c.chunk_id: c for c in chunks}.values())  # the last of duplicated ids wins

        def insert() -> None:
            vectors = validated_vectors(chunks, index.dimension)  # outside the lock
            index.run(lambda: index.insert(chunks, vectors))

        await asyncio.to_thread(insert)

    async def delete_file(self, index_id: str, file_id: str) -> None:
        await self._delete(index_id, "file_id", [file_id])

    async def delete_chunks(self, index_id: str, chunk_ids: Sequence[str]) -> None:
        await self._delete(index_id, "chunk_id", list(chunk_ids))

    async def query(self, index_id: str, query: VectorQuery) -> list[ScoredChunk]:
        check_query(query)
        index = await self._require(index_id)
        if query.embedding is not None and query.mode != "keyword":
            check_embedding(query.embedding, index.dimension, "the query")

        vector, keyword = await asyncio.to_thread(index.run, lambda: index.search(query))
        return finish_query(query, vector, keyword)

    # -- helpers ---------------------------------------------------------------------------

    async def _delete(self, index_id: str, column: str, values: list[str]) -> None:
        async with self._registry:
            index = await self._open(index_id)
        if index is not None and values:
            with contextlib.suppress(NotFound):  # deleted meanwhile: nothing left to delete
                await asyncio.to_thread(index.run, lambda: index.delete(column, values))

    async def _require(self, index_id: str) -> _Index:
        index = self._indexes.get(index_id)
        if index is not None:
            return index
        async with self._registry:
            index = await self._open(index_id)
        if index is None:
            raise NotFound(f"vector index {index_id!r} not found", param="index_id")
        return index

    async def _open(self, index_id: str) -> _Index | None:
        """The open index, or the one on disk (loaded now), or None. Holds `_registry`."""
        index = self._indexes.get(index_id)
        if index is None:
            index = await asyncio.to_thread(self._load, index_id)
            if index is not None:
                self._indexes[index_id] = index
        return index

    def _paths(self, index_id: str) -> tuple[Path, Path]:
        name = (
            index_id if _SAFE_NAME.match(index_id) else "h-" + hashlib.sha256(index_id.encode()).hexdigest()
        )
        return self.storage_dir / f"{name}.sqlite", self.storage_dir / f"{name}.faiss.npz"

    def _create(self, index_id: str, dimension: int) -> _Index:
        database, snapshot = self._paths(index_id)
        store = ChunkStore(database)
        store.initialise(index_id, dimension)
        return _Index(index_id, store, VectorGraph(dimension, self.params), KeywordIndex(), snapshot)

    def _load(self, index_id: str) -> _Index | None:
        database, snapshot = self._paths(index_id)
        if not database.is_file():
            return None
        store = ChunkStore(database)
        dimension = store.meta("dimension")
        if dimension is None or store.meta("index_id") != index_id:  # created halfway, or a hash clash
            store.close()
            return None
        rows, embeddings, keywords = [], [], KeywordIndex()
        for row, content, embedding in store.rows():
            rows.append(row)
            embeddings.append(embedding)
            keywords.add(row.label, content)
        params, version = self.params, store.version
        graph = VectorGraph.load(snapshot, version, int(dimension), params, rows)
        index = _Index(index_id, store, graph or VectorGraph(int(dimension), params), keywords, snapshot)
        if graph is None:
            logger.info("rebuilding the HNSW graph of vector index %s (%d chunks)", index_id, len(rows))
            vectors = np.frombuffer(b"".join(embeddings), dtype=np.float32).reshape(len(rows), int(dimension))
            index.graph.add(rows, vectors)
        else:
            index.saved_version = version
        return index

    @staticmethod
    def _locked_close(index: _Index, save: bool) -> None:
        with index.lock:
            index.close(save)

    def _remove_files(self, index_id: str) -> None:
        database, snapshot = self._paths(index_id)
        # The database goes last: while it exists (even without its -wal) the index is intact.
        for path in (snapshot, Path(f"{database}-wal"), Path(f"{database}-shm"), database):
            path.unlink(missing_ok=True)


def create_provider(config: FaissConfig, deps: Mapping[Any, Any]) -> FaissVectorIO:
    return FaissVectorIO(config)
