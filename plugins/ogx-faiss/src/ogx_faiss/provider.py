"""`inline::faiss`: vector indexes in process, persisted under a directory.

Each index is a SQLite file (`ChunkStore`: chunks and embeddings; the source of truth), and in
memory a FAISS HNSW graph (`VectorGraph`) and a BM25 index (`KeywordIndex`), both opened from
their snapshot and brought up to date with the store (`ogx_faiss.recovery`). Snapshots are
written when the provider closes and every `snapshot_every` changed chunks (copied under the
index's lock, written by a background thread), so a crash costs replaying at most about that
many, never data.

Every blocking call runs in a worker thread; one lock per index serialises the calls on it
(FAISS and sqlite3 objects are not safe to share between threads while writing). An index is
opened by one task that every request for it shares; a request waits for it at most
`open_wait_seconds`, then gets `ProviderUnavailable` while the opening goes on. With
`warm_start`, a background task started by `start()` opens every stored index ahead of use, one
at a time; otherwise (and for an index the warm-up has not reached) the first request opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ogx_api import BaseProvider, HealthState, HealthStatus, InvalidRequest, NotFound, ProviderUnavailable
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
from ogx_faiss.recovery import OpeningStopped, open_indexes
from ogx_faiss.snapshot import Snapshot
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
        self,
        index_id: str,
        store: ChunkStore,
        graph: VectorGraph,
        keywords: KeywordIndex,
        snapshot: Path,
        snapshot_every: int,
    ) -> None:
        self.index_id = index_id
        self.store = store
        self.store_id = store.store_id()
        self.graph = graph
        self.keywords = keywords
        self.snapshot = snapshot
        self.snapshot_every = snapshot_every
        self.lock = threading.Lock()
        self.save_lock = threading.Lock()  # held while a snapshot is written; never taken before `lock`
        self.closed = False
        self.saved_version = -1
        self.unsaved = 0  # chunks inserted or deleted since the last snapshot was taken
        self.writing = False  # a background snapshot is being written

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
        self._changed(len(replaced) + len(added))

    def delete(self, column: str, values: Sequence[str]) -> None:
        labels = self.store.delete(column, values)
        self.graph.remove(labels)
        self.keywords.remove(labels)
        self._changed(len(labels))

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

    def close(self, save: bool) -> None:
        """Close the store, after a last snapshot when `save` (and once a background one is written)."""
        if self.closed:
            return
        self.closed = True
        try:
            with self.save_lock:
                if save and self.store.version != self.saved_version:
                    self._write(self._taken())
        finally:
            self.store.close()

    def _changed(self, chunks: int) -> None:
        """After a write (holding `lock`): past `snapshot_every` changed chunks, snapshot the graph
        now and write it in a background thread, so searches wait only for the copy."""
        self.unsaved += chunks
        if self.unsaved >= self.snapshot_every and not self.writing:
            self.writing = True
            snapshot = self._taken()
            name = f"faiss-snapshot-{self.index_id}"
            threading.Thread(
                target=self._write_in_background, args=(snapshot,), name=name, daemon=True
            ).start()

    def _taken(self) -> Snapshot:
        self.unsaved = 0
        return Snapshot(
            self.graph.parts(),
            self.keywords.arrays(),
            self.store.version,
            self.store_id,
            self.store.allocated,
        )

    def _write_in_background(self, snapshot: Snapshot) -> None:
        try:
            with self.save_lock:
                if not self.closed:  # else close() wrote a newer one, or the index is being deleted
                    self._write(snapshot)
        except OSError as exc:  # the store has every chunk: a missing snapshot costs a longer replay
            logger.warning("could not write the snapshot of vector index %s: %s", self.index_id, exc)
        finally:
            self.writing = False

    def _write(self, snapshot: Snapshot) -> None:
        snapshot.write(self.snapshot)
        self.saved_version = snapshot.version


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
        self._opening: dict[str, asyncio.Task[_Index | None]] = {}
        self._registry = asyncio.Lock()  # starting to open, creating and deleting indexes
        self._closing = threading.Event()  # read by openings in worker threads between batches
        self.warm_up_task: asyncio.Task[None] | None = None  # see `_warm_up`
        self._unopenable: dict[str, str] = {}  # index id → why its last opening failed, for `health`

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.storage_dir.mkdir, parents=True, exist_ok=True)
        if self.config.warm_start:
            self.warm_up_task = asyncio.create_task(self._warm_up(), name="faiss-warm-up")

    async def close(self) -> None:
        self._closing.set()  # an opening stops at its next batch; no new one starts
        if self.warm_up_task is not None:
            self.warm_up_task.cancel()
            await asyncio.wait([self.warm_up_task])  # unlike `await`, never raises our own cancellation
        await asyncio.gather(*self._opening.values(), return_exceptions=True)  # they register their index
        async with self._registry:
            indexes, self._indexes = list(self._indexes.values()), {}
        for index in indexes:
            await asyncio.to_thread(self._locked_close, index, True)

    async def health(self) -> HealthStatus:
        if not self.storage_dir.is_dir():
            return HealthStatus(status=HealthState.error, message=f"{self.storage_dir} is not a directory")
        if self._unopenable:
            failed = sorted(self._unopenable.items())
            listed = "; ".join(f"{index_id} ({why})" for index_id, why in failed[:5])
            more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
            return HealthStatus(
                status=HealthState.error,
                message=f"{len(failed)} vector index(es) could not be opened: {listed}{more}",
            )
        return HealthStatus(status=HealthState.ok)

    async def _warm_up(self) -> None:
        """Open every stored index, the most recently written first (the ones in use: ingestion
        is what writes; a store nobody wrote to for months can wait), one at a time, so a large
        deployment neither spikes memory nor takes both cores at start. A request for an index
        shares its opening when the warm-up is on it, and opens it at once otherwise. An index
        that fails to open is logged and left to be tried again on first use."""
        for index_id in await asyncio.to_thread(self._stored_index_ids):
            try:
                async with self._registry:
                    opening = self._opening_of(index_id)
                await asyncio.shield(opening)  # cancelling the warm-up leaves the opening to its requests
            except ProviderUnavailable:  # closing
                return
            except Exception as exc:  # whatever opening raised, a request would meet it again
                logger.warning(
                    "vector index %s could not be opened ahead of use (tried again on first use): %s: %s",
                    index_id,
                    type(exc).__name__,
                    exc,
                )

    def _stored_index_ids(self) -> list[str]:
        """The ids of the indexes on disk, the most recently written first."""
        written: list[tuple[float, str]] = []
        for database in self.storage_dir.glob("*.sqlite"):
            last = max(_written(database), _written(Path(f"{database}-wal")))
            index_id: str | None = database.stem
            if database.stem.startswith("h-"):  # maybe a hashed id: the database knows its own
                index_id = _stored_index_id(database)
            if index_id is not None:
                written.append((last, index_id))
        return [index_id for _, index_id in sorted(written, reverse=True)]

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
            self._unopenable.pop(index_id, None)
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
        index = await self._find(index_id)
        if index is not None and values:
            with contextlib.suppress(NotFound):  # deleted meanwhile: nothing left to delete
                await asyncio.to_thread(index.run, lambda: index.delete(column, values))

    async def _require(self, index_id: str) -> _Index:
        index = await self._find(index_id)
        if index is None:
            raise NotFound(f"vector index {index_id!r} not found", param="index_id")
        return index

    async def _find(self, index_id: str) -> _Index | None:
        index = self._indexes.get(index_id)
        if index is not None:
            return index
        async with self._registry:  # so no index starts opening while it is being deleted
            opening = self._opening_of(index_id)
        return await self._opened(index_id, opening)

    async def _open(self, index_id: str) -> _Index | None:
        """The open index, or the one on disk, or None. Holds `_registry`."""
        return await self._opened(index_id, self._opening_of(index_id))

    def _opening_of(self, index_id: str) -> asyncio.Future[_Index | None]:
        """The index (open, or being opened by one task every caller shares). Holds `_registry`."""
        if self._closing.is_set():
            raise ProviderUnavailable("the vector-io provider is shutting down; retry")
        if (index := self._indexes.get(index_id)) is not None:
            ready: asyncio.Future[_Index | None] = asyncio.get_running_loop().create_future()
            ready.set_result(index)
            return ready
        opening = self._opening.get(index_id)
        if opening is None:
            opening = self._opening[index_id] = asyncio.create_task(self._load_and_register(index_id))
        return opening

    async def _opened(self, index_id: str, opening: asyncio.Future[_Index | None]) -> _Index | None:
        """`opening`'s index, waited for at most `open_wait_seconds`: an index recovering from a
        crash (or opened for the first time, large and without a snapshot) may take long, and a
        request should fail plainly rather than hang; opening goes on, so a retry succeeds."""
        try:
            return await asyncio.wait_for(asyncio.shield(opening), self.config.open_wait_seconds)
        except TimeoutError:
            raise ProviderUnavailable(
                f"vector index {index_id!r} is still being opened (its graph is being recovered "
                "from the stored chunks); retry in a few seconds"
            ) from None

    async def _load_and_register(self, index_id: str) -> _Index | None:
        try:
            index = await asyncio.to_thread(self._load, index_id)
        except OpeningStopped:
            raise ProviderUnavailable(
                f"vector index {index_id!r} was not opened: the vector-io provider is shutting down; retry"
            ) from None
        except Exception as exc:  # recorded for `health`; every caller waiting on the opening meets it
            self._unopenable[index_id] = f"{type(exc).__name__}: {exc}"
            raise
        else:
            self._unopenable.pop(index_id, None)
            if index is not None:
                self._indexes[index_id] = index
            return index
        finally:
            del self._opening[index_id]

    def _paths(self, index_id: str) -> tuple[Path, Path]:
        name = (
            index_id if _SAFE_NAME.match(index_id) else "h-" + hashlib.sha256(index_id.encode()).hexdigest()
        )
        return self.storage_dir / f"{name}.sqlite", self.storage_dir / f"{name}.faiss.npz"

    def _create(self, index_id: str, dimension: int) -> _Index:
        database, snapshot = self._paths(index_id)
        store = ChunkStore(database)
        store.initialise(index_id, dimension)
        graph = VectorGraph(dimension, self.params)
        return _Index(index_id, store, graph, KeywordIndex(), snapshot, self.config.snapshot_every)

    def _load(self, index_id: str) -> _Index | None:
        database, snapshot = self._paths(index_id)
        if not database.is_file():
            return None
        store = ChunkStore(database)
        dimension = store.meta("dimension")
        if dimension is None or store.meta("index_id") != index_id:  # created halfway, or a hash clash
            store.close()
            return None
        try:
            recovery = open_indexes(store, snapshot, int(dimension), self.params, index_id, self._closing)
        except BaseException:  # interrupted too: the connection must not leak
            store.close()
            raise
        index = _Index(
            index_id, store, recovery.graph, recovery.keywords, snapshot, self.config.snapshot_every
        )
        index.saved_version = recovery.saved_version
        index.unsaved = recovery.added + recovery.removed  # what a crash now would replay again
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


def _stored_index_id(database: Path) -> str | None:
    """The id a database records (read only), or None when it records none or is unreadable
    (logged: a request for that index still tries to open it)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'index_id'").fetchone()
    except sqlite3.Error as exc:
        logger.warning("cannot read which vector index %s holds: %s", database.name, exc)
        return None
    return None if row is None else str(row[0])


def _written(path: Path) -> float:
    """When `path` was last written, or 0 when it is missing or empty (a read-only connection
    leaves an empty WAL behind: it says nothing about use)."""
    try:
        stat = path.stat()
    except OSError:  # no such file (yet, or any more)
        return 0.0
    return stat.st_mtime if stat.st_size else 0.0


def create_provider(config: FaissConfig, deps: Mapping[Any, Any]) -> FaissVectorIO:
    return FaissVectorIO(config)
