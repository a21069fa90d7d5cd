"""What `inline::faiss` keeps on disk: where by default, and that neither a crash after a write
nor a damaged snapshot loses a chunk (SQLite is the source of truth; the graph is rebuilt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogx_api.testing.vector_io import corpus_chunks, ids
from ogx_api.vector_io import Chunk, VectorQuery
from ogx_faiss.config import FaissConfig
from ogx_faiss.provider import FaissVectorIO

QUERY = VectorQuery(embedding=[1, 0, 0, 0], k=100)


def sqlite_files(directory: Path) -> list[Path]:
    return list(directory.rglob("*.sqlite"))


async def started(config: FaissConfig) -> FaissVectorIO:
    provider = FaissVectorIO(config)
    await provider.start()
    return provider


async def test_an_empty_config_stores_under_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OGX_DATA_DIR", str(tmp_path))
    provider = await started(FaissConfig())
    await provider.create_index("vs_default", 4)
    await provider.insert("vs_default", corpus_chunks())
    await provider.close()
    assert (tmp_path / "default" / "faiss" / "vs_default.sqlite").is_file()
    assert (tmp_path / "default" / "faiss" / "vs_default.faiss.npz").is_file()


async def test_writes_after_the_last_snapshot_survive_a_crash(tmp_path: Path) -> None:
    config = FaissConfig(storage_dir=tmp_path)
    first = await started(config)
    await first.create_index("vs_crash", 4)
    await first.insert("vs_crash", corpus_chunks()[:3])
    await first.close()  # snapshot of three chunks
    crashed = await started(config)
    await crashed.insert("vs_crash", corpus_chunks()[3:])
    await crashed.delete_chunks("vs_crash", ["c-apple"])
    # `crashed` never closes (no new snapshot): the next provider must see its writes.
    survivor = await started(config)
    hits = await survivor.query("vs_crash", QUERY)
    assert sorted(ids(hits)) == sorted(c.chunk_id for c in corpus_chunks()[1:])
    await survivor.close()


async def test_a_damaged_snapshot_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    config = FaissConfig(storage_dir=tmp_path)
    provider = await started(config)
    await provider.create_index("vs_torn", 4)
    await provider.insert("vs_torn", corpus_chunks())
    expected = ids(await provider.query("vs_torn", QUERY))
    await provider.close()
    snapshot = tmp_path / "vs_torn.faiss.npz"
    snapshot.write_bytes(snapshot.read_bytes()[:100])
    reopened = await started(config)
    assert ids(await reopened.query("vs_torn", QUERY)) == expected
    await reopened.close()


async def test_index_ids_that_are_not_file_names_are_stored_safely(tmp_path: Path) -> None:
    provider = await started(FaissConfig(storage_dir=tmp_path))
    await provider.create_index("../../etc/passwd", 4)
    await provider.insert("../../etc/passwd", [Chunk(chunk_id="a", content="x", embedding=[1, 0, 0, 0])])
    assert [p.parent for p in sqlite_files(tmp_path)] == [tmp_path]
    assert ids(await provider.query("../../etc/passwd", QUERY)) == ["a"]
    await provider.close()
