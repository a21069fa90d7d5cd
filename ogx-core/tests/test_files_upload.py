"""How an upload treats the request body when it refuses it: the rest of the body is read and
dropped (so the client sees the 413 rather than a reset connection), unless the client is
waiting for `100 Continue` and has not started sending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ogx.files import FilesService
from ogx.files.localfs import LocalFSConfig, LocalFSProvider
from ogx.files.upload import FORM_OVERHEAD, receive_upload
from ogx.storage import create_engine, migrate
from ogx_api import InvalidRequest, PayloadTooLarge


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[FilesService]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ogx.db'}")
    await migrate(engine)
    provider = LocalFSProvider(LocalFSConfig(storage_dir=tmp_path / "files", max_upload_bytes=10_000))
    yield FilesService(engine, {"disk": provider})
    await engine.dispose()


class Body:
    """A request body that records how much of it was read."""

    def __init__(self, data: bytes, chunk: int = 1000) -> None:
        self.parts = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.read += len(part)
            yield part


def form(size: int, purpose: str = "assistants") -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x", data={"purpose": purpose}, files={"file": ("a", b"x" * size)})
    return request.read(), request.headers["content-type"]


async def test_a_refused_upload_reads_the_rest_of_the_body(files):
    data, content_type = form(50_000)
    body = Body(data)
    with pytest.raises(PayloadTooLarge):
        await receive_upload(
            files,
            aiter(body),
            content_type=content_type,
            content_length=None,
            expects_continue=False,
            owner=None,
        )
    assert body.read == len(data)


async def test_a_bad_field_before_the_file_also_reads_the_rest(files):
    data, content_type = form(5000, purpose="homework")
    body = Body(data)
    with pytest.raises(InvalidRequest):
        await receive_upload(
            files,
            aiter(body),
            content_type=content_type,
            content_length=None,
            expects_continue=False,
            owner=None,
        )
    assert body.read == len(data)


async def test_draining_is_bounded(files):
    data, content_type = form(10_000_000)
    body = Body(data, chunk=65536)
    with pytest.raises(PayloadTooLarge):
        await receive_upload(
            files,
            aiter(body),
            content_type=content_type,
            content_length=len(data),
            expects_continue=False,
            owner=None,
        )
    assert body.read <= files.max_upload_bytes + FORM_OVERHEAD + 65536 < len(data)


async def test_a_client_waiting_for_100_continue_is_refused_before_it_sends(files):
    data, content_type = form(2_000_000)
    body = Body(data)
    with pytest.raises(PayloadTooLarge):
        await receive_upload(
            files,
            aiter(body),
            content_type=content_type,
            content_length=len(data),
            expects_continue=True,
            owner=None,
        )
    assert body.read == 0
