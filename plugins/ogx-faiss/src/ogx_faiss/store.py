"""The durable half of an index: one SQLite file holding its chunks (with their normalised
embeddings). The vector graph and the keyword index are rebuilt from it.

SQLite in WAL mode with `synchronous=FULL` is the source of truth: every write is one
transaction, so a crash leaves either all of it or none of it. Every write also bumps
`meta.version`, which tells the FAISS snapshot beside the file whether it is still current.
Labels come from `AUTOINCREMENT`, so they only grow and are never reused: a snapshot that
records the highest label allocated when it was taken (`allocated`) can tell what changed since
by comparing labels alone (`ogx_faiss.recovery`). `meta.store_id`, random per database, ties a
snapshot to the database it was taken from.
Not thread-safe: the caller serialises access (one lock per index).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ogx_api.vector_io import AttributeValue, Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    label INTEGER PRIMARY KEY AUTOINCREMENT,  -- the id in FAISS; never reused
    chunk_id TEXT NOT NULL UNIQUE,
    file_id TEXT,
    content TEXT NOT NULL,
    attributes TEXT NOT NULL,
    metadata TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (file_id);
"""
_BATCH = 500  # host parameters per `IN (...)`, well under SQLite's limit


@dataclass(frozen=True, slots=True)
class Row:
    label: int
    attributes: dict[str, AttributeValue]


def attributes_key(attributes: dict[str, AttributeValue]) -> str:
    return json.dumps(attributes, sort_keys=True, separators=(",", ":"))


class ChunkStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- meta ------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    @property
    def version(self) -> int:
        return int(self.meta("version") or 0)

    @property
    def allocated(self) -> int:
        """The highest label ever allocated (deleted or not): every later insert gets a higher one."""
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
        return 0 if row is None else int(row[0])

    def store_id(self) -> str:
        """This database's random identity (given now to a database created before it existed)."""
        existing = self.meta("store_id")
        if existing is not None:
            return existing
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,)
            )
        return self.meta("store_id") or ""

    def initialise(self, index_id: str, dimension: int) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [
                    ("index_id", index_id),
                    ("dimension", str(dimension)),
                    ("version", "0"),
                    ("store_id", uuid.uuid4().hex),
                ],
            )

    # -- writes (one transaction each) ----------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> tuple[list[int], list[int]]:
        """Insert the chunks, replacing those with the same ids. Returns (labels of replaced
        chunks, labels of the new rows in `chunks` order)."""
        with self._transaction():
            replaced = self._labels_where("chunk_id", [c.chunk_id for c in chunks])
            self._delete_labels(replaced)
            added = []
            for chunk, vector in zip(chunks, vectors, strict=True):
                cursor = self._db.execute(
                    "INSERT INTO chunks (chunk_id, file_id, content, attributes, metadata, embedding) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        chunk.chunk_id,
                        chunk.file_id,
                        chunk.content,
                        json.dumps(chunk.attributes),
                        json.dumps(chunk.metadata),
                        vector.tobytes(),
                    ),
                )
                added.append(int(cursor.lastrowid or 0))
            self._bump_version()
        return replaced, added

    def delete(self, column: str, values: Sequence[str]) -> list[int]:
        """Delete the chunks whose `column` (`chunk_id` or `file_id`) is one of `values`;
        returns their labels."""
        with self._transaction():
            labels = self._labels_where(column, values)
            if labels:
                self._delete_labels(labels)
                self._bump_version()
        return labels

    # -- reads -----------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        """Every chunk's label and attributes, in label order."""
        cursor = self._db.execute("SELECT label, attributes FROM chunks ORDER BY label")
        parsed: dict[str, dict[str, AttributeValue]] = {}  # chunks of a file share their attributes
        rows = []
        for label, text in cursor:
            attributes = parsed.get(text)
            if attributes is None:
                attributes = parsed[text] = json.loads(text)
            rows.append(Row(label, attributes))
        return rows

    def added_after(self, label: int, dimension: int) -> tuple[list[int], np.ndarray, list[str]]:
        """Labels, normalised embeddings and contents of the chunks whose label is above `label`,
        in label order."""
        cursor = self._db.execute(
            "SELECT label, embedding, content FROM chunks WHERE label > ? ORDER BY label", (label,)
        )
        labels, embeddings, contents = [], [], []
        for found, embedding, content in cursor:
            labels.append(found)
            embeddings.append(embedding)
            contents.append(content)
        vectors = np.frombuffer(b"".join(embeddings), dtype=np.float32).reshape(len(labels), dimension)
        return labels, vectors, contents

    def chunks(self, labels: Sequence[int]) -> dict[int, Chunk]:
        found: dict[int, Chunk] = {}
        for start in range(0, len(labels), _BATCH):
            batch = labels[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            for label, chunk_id, file_id, content, attributes, metadata in self._db.execute(
                "SELECT label, chunk_id, file_id, content, attributes, metadata FROM chunks "
                f"WHERE label IN ({marks})",
                batch,
            ):
                # Our own rows, validated when they were inserted.
                found[label] = Chunk.model_construct(
                    embedding=None,
                    chunk_id=chunk_id,
                    content=content,
                    file_id=file_id,
                    attributes=json.loads(attributes),
                    metadata=json.loads(metadata),
                )
        return found

    # -- helpers ---------------------------------------------------------------------------

    def _transaction(self) -> Any:
        return _Transaction(self._db)

    def _labels_where(self, column: str, values: Sequence[str]) -> list[int]:
        assert column in ("chunk_id", "file_id")
        labels: list[int] = []
        for start in range(0, len(values), _BATCH):
            batch = list(values[start : start + _BATCH])
            marks = ",".join("?" * len(batch))
            labels += [
                r[0] for r in self._db.execute(f"SELECT label FROM chunks WHERE {column} IN ({marks})", batch)
            ]
        return labels

    def _delete_labels(self, labels: Sequence[int]) -> None:
        self._db.executemany("DELETE FROM chunks WHERE label = ?", [(label,) for label in labels])

    def _bump_version(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
