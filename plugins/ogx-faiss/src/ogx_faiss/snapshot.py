"""An index's snapshot: its graph and its keyword index, and the store they reflect
(its `version`, its random `store_id`, the highest label it had `allocated`), in one `.npz`
file written to a temporary file, fsynced and renamed over the old one (the directory fsynced
too), so a crash leaves the old snapshot or the new one, never a mix.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

logger = logging.getLogger(__name__)

_GRAPH = ("graph", "labels", "alive")
_KEYWORDS = ("terms", "ends", "labels", "frequencies", "length")


@dataclass(frozen=True)
class Snapshot:
    graph: dict[str, Any]  # `VectorGraph.parts()`: the FAISS index (serialised on disk) and arrays
    keywords: dict[str, np.ndarray]  # `KeywordIndex.arrays()`
    version: int
    store_id: str
    allocated: int

    def write(self, path: Path) -> None:
        temp = path.with_name(f".{path.name}.tmp")
        contents: dict[str, Any] = {
            "version": np.int64(self.version),
            "store_id": np.str_(self.store_id),
            "allocated": np.int64(self.allocated),
        }
        contents |= {f"graph_{k}": v for k, v in self.graph.items()}
        contents["graph_graph"] = faiss.serialize_index(self.graph["graph"])
        contents |= {f"keywords_{k}": v for k, v in self.keywords.items()}
        with temp.open("wb") as file:
            np.savez(file, **contents)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
        _fsync_directory(path.parent)

    @classmethod
    def read(cls, path: Path, store_id: str) -> Snapshot | None:
        """The snapshot at `path` if there is one, whole, taken from database `store_id`."""
        try:
            with np.load(path) as saved:
                if str(saved["store_id"]) != store_id:
                    logger.warning("ignoring the snapshot %s: it was taken from another database", path)
                    return None
                graph = {k: saved[f"graph_{k}"] for k in _GRAPH}
                graph["graph"] = faiss.deserialize_index(graph["graph"])
                return cls(
                    graph,
                    {k: saved[f"keywords_{k}"] for k in _KEYWORDS},
                    int(saved["version"]),
                    store_id,
                    int(saved["allocated"]),
                )
        except FileNotFoundError:
            return None
        except Exception as exc:  # numpy, zipfile and FAISS each raise their own on a damaged file
            logger.warning("ignoring the damaged or outdated snapshot %s: %s", path, exc)
            return None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
