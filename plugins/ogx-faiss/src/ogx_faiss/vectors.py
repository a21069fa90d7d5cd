"""The in-memory half of an index: normalised vectors in a FAISS HNSW graph (inner product, so
scores are cosine similarities), the chunk label of each graph position, and the attributes of
each live position grouped by value (chunks of one file share theirs, so a filter is evaluated
once per distinct attribute set, with the reference `matches()`).

HNSW cannot remove a vector: a deleted or replaced chunk's position is only marked dead and
skipped by an `IDSelector`; once dead positions reach `compact_dead_fraction` the graph is
rebuilt from the live vectors. Small candidate sets (small indexes, selective filters) are
searched exactly with a matrix product instead of the graph.

The graph is saved in the index's snapshot (`parts`, `from_parts`)
(`ogx_faiss.snapshot`); a snapshot behind its store is brought up to date by `reconcile` plus
`add` (`ogx_faiss.recovery`).
Not thread-safe: the caller serialises access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from ogx_api.vector_io import AttributeValue, Filter, matches
from ogx_faiss.store import Row, attributes_key


@dataclass(frozen=True)
class GraphParams:
    m: int
    ef_construction: int
    ef_search: int
    exact_search_max: int
    compact_dead_fraction: float


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class VectorGraph:
    def __init__(self, dimension: int, params: GraphParams) -> None:
        self.dimension = dimension
        self.params = params
        self._graph = self._new_graph()
        self._labels = np.empty(0, dtype=np.int64)  # position -> chunk label
        self._alive = np.empty(0, dtype=bool)
        self._position: dict[int, int] = {}  # live label -> position
        self._groups: dict[str, tuple[dict[str, AttributeValue], set[int]]] = {}
        self._group_of: dict[int, str] = {}  # live position -> attributes key
        # The last attributes seen and their key: rows read from the store share one object
        # per distinct attributes text (`ChunkStore.rows`), so opening serialises each once.
        self._last_key: tuple[dict[str, AttributeValue], str] | None = None

    @property
    def size(self) -> int:
        return len(self._position)

    # -- writes ----------------------------------------------------------------------------

    def add(self, rows: list[Row], vectors: np.ndarray) -> None:
        """Add normalised `vectors` (one per row, in order)."""
        if not rows:
            return
        start = len(self._labels)
        self._graph.add(vectors)
        self._labels = np.concatenate(
            [self._labels, np.fromiter((r.label for r in rows), np.int64, len(rows))]
        )
        self._alive = np.concatenate([self._alive, np.ones(len(rows), dtype=bool)])
        for offset, row in enumerate(rows):
            self._track(start + offset, row)

    def remove(self, labels: list[int]) -> None:
        for label in labels:
            position = self._position.pop(label, None)
            if position is None:
                continue
            self._alive[position] = False
            key = self._group_of.pop(position)
            members = self._groups[key][1]
            members.discard(position)
            if not members:
                del self._groups[key]
        self.compact_if_due()

    # -- search ----------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, filter_: Filter | None) -> list[tuple[int, float]]:
        """(label, cosine similarity) of the `k` nearest live vectors passing `filter_`, best first."""
        candidates = None if filter_ is None else self.matching_positions(filter_)
        count = self.size if candidates is None else len(candidates)
        if count == 0:
            return []
        k = min(k, count)
        if count <= self.params.exact_search_max:
            return self._exact(query, k, candidates)
        hits = self._approximate(query, k, candidates)
        # The graph can miss neighbours behind a very selective filter; never return fewer than k.
        return hits if len(hits) == k else self._exact(query, k, candidates)

    def matching_positions(self, filter_: Filter) -> np.ndarray:
        chosen = [members for attributes, members in self._groups.values() if matches(filter_, attributes)]
        if not chosen:
            return np.empty(0, dtype=np.int64)
        return np.fromiter((p for members in chosen for p in members), np.int64)

    def attributes_of(self, label: int) -> dict[str, AttributeValue] | None:
        position = self._position.get(label)
        return None if position is None else self._groups[self._group_of[position]][0]

    def _exact(self, query: np.ndarray, k: int, candidates: np.ndarray | None) -> list[tuple[int, float]]:
        vectors = self._stored_vectors()
        if candidates is None:
            candidates = np.flatnonzero(self._alive)
            if len(candidates) == len(self._alive):
                candidates = None
        scores = (vectors if candidates is None else vectors[candidates]) @ query
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        positions = top if candidates is None else candidates[top]
        return [(int(self._labels[p]), float(scores[i])) for p, i in zip(positions, top, strict=True)]

    def _approximate(
        self, query: np.ndarray, k: int, candidates: np.ndarray | None
    ) -> list[tuple[int, float]]:
        params = faiss.SearchParametersHNSW(efSearch=max(self.params.ef_search, k))  # type: ignore[attr-defined]
        if candidates is not None:
            params.sel = _bitmap_selector(len(self._labels), candidates)
        elif self.size < len(self._labels):
            params.sel = _bitmap_selector(len(self._labels), np.flatnonzero(self._alive))
        scores, positions = self._graph.search(query.reshape(1, -1), k, params=params)
        return [
            (int(self._labels[p]), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if p >= 0
        ]

    # -- snapshots -------------------------------------------------------------------------

    def parts(self) -> dict[str, Any]:
        """A copy of the graph for a snapshot: the FAISS index (cloned: a memory copy, several
        times faster than serialising it, so the caller's lock is held briefly; at 100k
        chunks 0.07-0.35 s against 0.8-1.6 s), each position's label and liveness."""
        return {
            "graph": faiss.clone_index(self._graph),
            "labels": self._labels.copy(),
            "alive": self._alive.copy(),
        }

    @classmethod
    def from_parts(cls, saved: dict[str, Any], dimension: int, params: GraphParams) -> VectorGraph | None:
        """The graph of `parts()`, not yet reconciled with the store (see `reconcile`); None
        when it does not fit `dimension` or its own labels."""
        graph, labels, alive = saved["graph"], saved["labels"], saved["alive"]
        if graph.d != dimension or graph.ntotal != len(labels) or len(alive) != len(labels):
            return None
        loaded = cls(dimension, params)
        loaded._graph, loaded._labels, loaded._alive = graph, labels.astype(np.int64), alive.astype(bool)
        return loaded

    def reconcile(self, rows: list[Row], allocated: int) -> tuple[list[Row], list[int]] | None:
        """Match a restored graph to the store's live `rows` (in label order): positions of
        chunks deleted since the snapshot die, the others are tracked. Returns the rows the graph
        lacks (inserted since: labels above `allocated`, the snapshot's highest) and the labels
        that died, or None when the graph cannot belong to this store (a lacking row it should
        have had, a label twice)."""
        by_label = {r.label: r for r in rows}
        removed = []
        for position in np.flatnonzero(self._alive):
            label = int(self._labels[position])
            row = by_label.get(label)
            if row is None:
                self._alive[position] = False
                removed.append(label)
            elif label in self._position:
                return None
            else:
                self._track(int(position), row)
        missing = [r for r in rows if r.label not in self._position]
        if missing and missing[0].label <= allocated:
            return None
        return missing, removed

    # -- helpers ---------------------------------------------------------------------------

    def compact_if_due(self) -> None:
        dead = len(self._labels) - self.size
        if dead and dead >= self.params.compact_dead_fraction * len(self._labels):
            self._compact()

    def _new_graph(self) -> faiss.IndexHNSWFlat:
        graph = faiss.IndexHNSWFlat(self.dimension, self.params.m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.params.ef_construction
        return graph

    def _track(self, position: int, row: Row) -> None:
        self._position[row.label] = position
        if self._last_key is not None and self._last_key[0] is row.attributes:
            key = self._last_key[1]
        else:
            key = attributes_key(row.attributes)
            self._last_key = (row.attributes, key)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = (row.attributes, set())
        group[1].add(position)
        self._group_of[position] = key

    def _stored_vectors(self) -> np.ndarray:
        """A view (no copy) of every vector in the graph's flat storage, by position."""
        storage: faiss.IndexFlat = faiss.downcast_index(self._graph.storage)  # type: ignore[assignment]
        count = storage.ntotal
        return faiss.rev_swig_ptr(storage.get_xb(), count * self.dimension).reshape(count, self.dimension)

    def _compact(self) -> None:
        live = np.flatnonzero(self._alive)
        vectors = self._stored_vectors()[live].copy()
        rows = [Row(int(self._labels[p]), self._groups[self._group_of[int(p)]][0]) for p in live]
        fresh = VectorGraph(self.dimension, self.params)
        fresh.add(rows, vectors)
        self.__dict__.update(fresh.__dict__)


def _bitmap_selector(total: int, positions: np.ndarray) -> faiss.IDSelectorBitmap:
    mask = np.zeros(total, dtype=bool)
    mask[positions] = True
    bits = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(total, faiss.swig_ptr(bits))
    selector.referenced_bits = bits  # type: ignore[attr-defined]  # it only points at the array: keep it alive
    return selector
