"""Opening an index's vector graph: its snapshot brought up to date with the store, or, when
there is no usable snapshot, a graph rebuilt from every stored embedding.

A crash loses what the graph learnt since its last snapshot, never a chunk (the store has them
all). Labels only grow and are never reused, so what changed since the snapshot follows from
labels alone: a label the snapshot has alive and the store lacks was deleted (its position
dies), a store row above the snapshot's highest allocated label was inserted (its embedding is
read and added). Replacing a chunk is both. Recovery thus costs HNSW insertion of the chunks
inserted since the snapshot, not of the whole index; the result is checked (every live row
tracked exactly once) and anything inconsistent falls back to the full rebuild.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ogx_faiss.store import ChunkStore, Row
from ogx_faiss.vectors import GraphParams, VectorGraph

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    graph: VectorGraph
    how: Literal["snapshot", "replayed", "rebuilt"]
    added: int  # chunks inserted into the graph while opening
    removed: int  # chunks of the snapshot deleted since
    saved_version: int  # the store version the snapshot on disk reflects; -1 when none does


def open_graph(
    store: ChunkStore, snapshot: Path, dimension: int, params: GraphParams, rows: list[Row], index_id: str
) -> Recovery:
    """The graph of the store's live `rows` (in label order)."""
    started = time.perf_counter()
    recovery = _replayed(store, snapshot, dimension, params, rows)
    if recovery is None:
        graph = VectorGraph(dimension, params)
        _, vectors = store.embeddings_after(0, dimension)
        graph.add(rows, vectors)
        recovery = Recovery(graph, "rebuilt", len(rows), 0, -1)
    if recovery.how != "snapshot":
        logger.info(
            "vector index %s: HNSW graph %s in %.1f s (%d chunks added, %d removed, %d live)",
            index_id,
            recovery.how,
            time.perf_counter() - started,
            recovery.added,
            recovery.removed,
            len(rows),
        )
    return recovery


def _replayed(
    store: ChunkStore, snapshot: Path, dimension: int, params: GraphParams, rows: list[Row]
) -> Recovery | None:
    restored = VectorGraph.restore(snapshot, dimension, params, store.store_id())
    if restored is None:
        return None
    graph, recorded = restored
    missing = graph.reconcile(rows, recorded.allocated)
    if missing is not None:
        labels, vectors = store.embeddings_after(recorded.allocated, dimension)
        if labels.tolist() == [r.label for r in missing]:
            removed = int(recorded.alive.sum()) - graph.size
            graph.add(missing, vectors)
            graph.compact_if_due()
            if graph.size == len(rows):
                current = recorded.version == store.version
                how: Literal["snapshot", "replayed"] = "snapshot" if current else "replayed"
                return Recovery(graph, how, len(missing), removed, recorded.version)
    logger.warning("the snapshot %s does not match its store: rebuilding the graph", snapshot)
    return None
