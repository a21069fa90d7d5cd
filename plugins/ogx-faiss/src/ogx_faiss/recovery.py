"""Opening an index: its snapshot (graph and keyword index) brought up to date with the store,
or, when there is no usable snapshot, both rebuilt from every stored chunk.

A crash loses what the in-memory indexes learnt since the last snapshot, never a chunk (the
store has them all). Labels only grow and are never reused, so what changed since the snapshot
follows from labels alone: a label the snapshot has alive and the store lacks was deleted (it is
removed), a store row above the snapshot's highest allocated label was inserted (its embedding
and text are read and added). Replacing a chunk is both. Recovery thus costs indexing the chunks
inserted since the snapshot, not the whole index; the result is checked (every live row tracked
exactly once) and anything inconsistent falls back to the full rebuild.

Chunks are indexed in batches, and between two a set `stop` event abandons the opening
(`OpeningStopped`): a provider closing while an index rebuilds waits for one batch, not the
whole rebuild.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ogx_faiss.keywords import KeywordIndex
from ogx_faiss.snapshot import Snapshot
from ogx_faiss.store import ChunkStore, Row
from ogx_faiss.vectors import GraphParams, VectorGraph

logger = logging.getLogger(__name__)

_BATCH = 2048  # chunks indexed between two looks at `stop` (~1 s of HNSW insertion at 384 dimensions)


class OpeningStopped(Exception):
    """The opening was abandoned because `stop` was set (the provider is closing)."""


@dataclass(frozen=True)
class Recovery:
    graph: VectorGraph
    keywords: KeywordIndex
    how: Literal["snapshot", "replayed", "rebuilt"]
    added: int  # chunks indexed while opening
    removed: int  # chunks of the snapshot deleted since
    saved_version: int  # the store version the snapshot on disk reflects; -1 when none does


def open_indexes(
    store: ChunkStore,
    snapshot: Path,
    dimension: int,
    params: GraphParams,
    index_id: str,
    stop: threading.Event,
) -> Recovery:
    """The graph and keyword index of the store's live chunks; `OpeningStopped` once `stop` is set."""
    started = time.perf_counter()
    rows = store.rows()
    recovery = _replayed(store, snapshot, dimension, params, rows, stop)
    if recovery is None:
        graph, keywords = VectorGraph(dimension, params), KeywordIndex()
        _, vectors, contents = store.added_after(0, dimension)
        _index_in_batches(graph, keywords, rows, vectors, contents, stop)
        recovery = Recovery(graph, keywords, "rebuilt", len(rows), 0, -1)
    if recovery.how != "snapshot":
        logger.info(
            "vector index %s: %s in %.1f s (%d chunks added, %d removed, %d live)",
            index_id,
            recovery.how,
            time.perf_counter() - started,
            recovery.added,
            recovery.removed,
            len(rows),
        )
    return recovery


def _index_in_batches(
    graph: VectorGraph,
    keywords: KeywordIndex,
    rows: list[Row],
    vectors: np.ndarray,
    contents: list[str],
    stop: threading.Event,
) -> None:
    for start in range(0, len(rows), _BATCH):
        if stop.is_set():
            raise OpeningStopped
        batch = slice(start, start + _BATCH)
        graph.add(rows[batch], vectors[batch])
        keywords.add_many((row.label, text) for row, text in zip(rows[batch], contents[batch], strict=True))


def _replayed(
    store: ChunkStore,
    path: Path,
    dimension: int,
    params: GraphParams,
    rows: list[Row],
    stop: threading.Event,
) -> Recovery | None:
    snapshot = Snapshot.read(path, store.store_id())
    if stop.is_set():
        raise OpeningStopped
    if snapshot is None:
        return None
    try:
        graph = VectorGraph.from_parts(snapshot.graph, dimension, params)
        keywords = KeywordIndex.from_arrays(snapshot.keywords)
    except Exception as exc:  # numpy raises its own on damaged arrays
        logger.warning("ignoring the damaged snapshot %s: %s", path, exc)
        return None
    changes = None if graph is None else graph.reconcile(rows, snapshot.allocated)
    if graph is not None and changes is not None:
        missing, removed = changes
        labels, vectors, contents = store.added_after(snapshot.allocated, dimension)
        if labels == [r.label for r in missing]:
            keywords.remove(removed)
            _index_in_batches(graph, keywords, missing, vectors, contents, stop)
            graph.compact_if_due()
            if graph.size == len(rows):
                how: Literal["snapshot", "replayed"] = (
                    "snapshot" if snapshot.version == store.version else "replayed"
                )
                return Recovery(graph, keywords, how, len(missing), len(removed), snapshot.version)
    logger.warning("the snapshot %s does not match its store: rebuilding the indexes", path)
    return None
