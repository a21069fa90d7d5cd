"""The files API end to end: the official `openai` SDK against `ogx run`. Uploads stream to disk,
so a large one barely moves the server's peak memory."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
LIMIT = 40 * MiB


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ogx-files") / "files"


@pytest.fixture(scope="module")
def server(ogx_runner, files_dir) -> Iterator:
    config = {
        "version": 2,
        "name": "e2e-files",
        "providers": {
            "files": [
                {
                    "provider_id": "disk",
                    "provider_type": "inline::localfs",
                    "config": {"storage_dir": str(files_dir), "max_upload_bytes": LIMIT},
                }
            ]
        },
    }
    with ogx_runner(config, files_dir.parent) as running:
        yield running


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="unused", max_retries=0)


def peak_rss(pid: int) -> int:
    """The process's resident-set high-water mark (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def test_upload_list_retrieve_content_delete_with_the_sdk(server, client):
    content = b'{"custom_id": "1", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n' * 50
    created = client.files.create(file=("requests.jsonl", content), purpose="batch")
    expiring = client.files.create(
        file=("notes.txt", b"temporary"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    listed = [f.id for f in client.files.list()]
    only_batch = [f.id for f in client.files.list(purpose="batch")]
    paged = [f.id for f in client.files.list(limit=1, order="asc")]  # the SDK follows `after`
    retrieved = client.files.retrieve(created.id)
    downloaded = client.files.content(created.id)
    deleted = client.files.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    assert (created.object, created.status, created.bytes) == ("file", "processed", len(content))
    assert (created.filename, created.purpose) == ("requests.jsonl", "batch")
    assert created.expires_at == created.created_at + 30 * 24 * 3600
    assert expiring.expires_at == expiring.created_at + 3600
    assert listed[:2] == [expiring.id, created.id], "newest first"
    assert created.id in only_batch and expiring.id not in only_batch
    assert paged[-2:] == [created.id, expiring.id]
    assert retrieved == created
    assert downloaded.content == content
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "file")
    client.files.delete(expiring.id)
    server.assert_no_server_errors()


def test_bad_requests_are_400s_naming_the_parameter(server, client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("a.txt", b"x"), purpose="homework")  # type: ignore[arg-type]
    assert caught.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(
            file=("a.txt", b"x"), purpose="batch", expires_after={"anchor": "created_at", "seconds": 5}
        )
    assert caught.value.body["param"] == "expires_after.seconds"  # type: ignore[index]
    server.assert_no_server_errors()


def test_a_large_upload_streams_to_disk_with_bounded_memory(
    server, client, files_dir, tmp_path, record_property
):
    size = 30 * MiB
    source = tmp_path / "large.bin"
    digest = random_file(source, size)
    client.files.create(file=("warm-up.bin", os.urandom(MiB)), purpose="assistants")
    before = peak_rss(server.process.pid)
    started = time.perf_counter()
    with source.open("rb") as handle:
        created = client.files.create(file=("large.bin", handle), purpose="assistants")
    elapsed = time.perf_counter() - started
    growth = peak_rss(server.process.pid) - before
    record_property("upload_mib_per_s", round(size / MiB / elapsed, 1))
    record_property("peak_rss_growth_mib", round(growth / MiB, 2))
    print(f"\n30 MiB upload: {size / MiB / elapsed:.0f} MiB/s; server peak RSS grew {growth / MiB:.2f} MiB")

    downloaded = hashlib.sha256()
    with client.files.with_streaming_response.content(created.id) as response:
        for chunk in response.iter_bytes():
            downloaded.update(chunk)
    assert created.bytes == size
    assert downloaded.hexdigest() == digest
    assert (files_dir / created.id).stat().st_size == size
    assert growth < 8 * MiB, f"the server's peak RSS grew {growth / MiB:.1f} MiB for a 30 MiB upload"
    client.files.delete(created.id)
    server.assert_no_server_errors()


def test_an_upload_over_the_limit_is_a_413_and_leaves_nothing(server, client, files_dir, tmp_path):
    source = tmp_path / "too-large.bin"
    random_file(source, LIMIT + MiB)
    before = set(os.listdir(files_dir))
    with source.open("rb") as handle, pytest.raises(openai.APIStatusError) as caught:
        client.files.create(file=("too-large.bin", handle), purpose="assistants")
    assert caught.value.status_code == 413
    assert str(LIMIT) in caught.value.message
    assert set(os.listdir(files_dir)) == before, "no partial or temporary file is left"
    server.assert_no_server_errors()
