"""`inline::localfs` against the `FilesProvider` contract: bytes in and out by id, nothing
visible until an upload completes, nothing left behind when it fails or is cancelled.

`FilesProviderContract` is written to move into `ogx_api.testing` as the files conformance
suite: a provider's test subclasses it and supplies the `provider` fixture."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ogx.files.localfs import STALE_TEMP_SECONDS, LocalFSConfig, LocalFSProvider
from ogx_api import HealthState, NotFound
from ogx_api.files import FilesProvider


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class Boom(Exception):
    pass


class FilesProviderContract:
    """Subclass and provide a `provider` fixture yielding a started `FilesProvider`."""

    async def test_is_a_files_provider(self, provider):
        assert isinstance(provider, FilesProvider) and provider.max_upload_bytes > 0

    async def test_writes_and_reads_back_large_content_in_bounded_chunks(self, provider):
        content = os.urandom(3 * 1024 * 1024 + 17)
        parts = [content[i : i + 65536] for i in range(0, len(content), 65536)]
        size = await provider.write("file-big", chunks(*parts))
        read = [chunk async for chunk in provider.read("file-big")]
        assert size == len(content) and b"".join(read) == content
        assert max(len(c) for c in read) <= 4 * 1024 * 1024, (
            "read streams; it doesn't return everything at once"
        )

    async def test_an_empty_file_is_a_file(self, provider):
        assert await provider.write("file-empty", chunks()) == 0
        assert [c async for c in provider.read("file-empty")] in ([], [b""])

    async def test_a_missing_file_is_not_found_and_deleting_it_is_fine(self, provider):
        with pytest.raises(NotFound):
            async for _ in provider.read("file-missing"):
                pass
        await provider.delete("file-missing")

    async def test_delete_removes_the_content(self, provider):
        await provider.write("file-gone", chunks(b"bye"))
        await provider.delete("file-gone")
        with pytest.raises(NotFound):
            async for _ in provider.read("file-gone"):
                pass

    async def test_a_failing_upload_leaves_nothing_and_its_error_propagates(self, provider):
        async def failing() -> AsyncIterator[bytes]:
            yield b"partial" * 1000
            raise Boom("client went away")

        with pytest.raises(Boom):
            await provider.write("file-failed", failing())
        with pytest.raises(NotFound):
            async for _ in provider.read("file-failed"):
                pass

    async def test_nothing_is_readable_before_the_upload_completes_and_cancelling_leaves_nothing(
        self, provider
    ):
        release = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield b"first part"
            await release.wait()
            yield b"never"

        upload = asyncio.create_task(provider.write("file-slow", slow()))
        await asyncio.sleep(0.05)
        with pytest.raises(NotFound):
            async for _ in provider.read("file-slow"):
                pass
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
        with pytest.raises(NotFound):
            async for _ in provider.read("file-slow"):
                pass


class TestLocalFS(FilesProviderContract):
    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[LocalFSProvider]:
        provider = LocalFSProvider(LocalFSConfig(storage_dir=tmp_path / "files"))
        await provider.start()
        yield provider
        await provider.close()
        leftovers = [p.name for p in (tmp_path / "files").glob(".*")] if (tmp_path / "files").exists() else []
        assert leftovers == [], f"temporary files left behind: {leftovers}"


async def test_the_directory_is_created_by_the_first_upload(tmp_path):
    provider = LocalFSProvider(LocalFSConfig(storage_dir=tmp_path / "deep" / "files"))
    await provider.start()
    assert not (tmp_path / "deep").exists(), "a server that stores nothing leaves no trace"
    assert (await provider.health()).status is HealthState.ok
    await provider.write("file-1", chunks(b"x"))
    assert os.listdir(tmp_path / "deep" / "files") == ["file-1"]


async def test_start_removes_temporary_files_left_by_a_crash_but_not_live_ones(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    stale, live = folder / ".file-a.1234.part", folder / ".file-b.5678.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"in progress")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    await LocalFSProvider(LocalFSConfig(storage_dir=folder)).start()
    assert sorted(os.listdir(folder)) == [live.name]


async def test_ids_cannot_escape_the_directory(tmp_path):
    provider = LocalFSProvider(LocalFSConfig(storage_dir=tmp_path / "files"))
    for bad in ("../etc/passwd", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            await provider.write(bad, chunks(b"x"))


def test_config_defaults_and_validation():
    config = LocalFSConfig()
    assert config.storage_dir is None and config.max_upload_bytes == 100 * 1024 * 1024
    with pytest.raises(ValueError, match="max_upload_bytes"):
        LocalFSConfig(max_upload_bytes=0)
    with pytest.raises(ValueError, match="storage_dir"):
        LocalFSProvider(config)
