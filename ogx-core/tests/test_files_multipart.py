"""The streaming multipart reader: parts in order however the body is split into chunks, a file
part's bytes handed on as they arrive, and malformed bodies rejected as 400s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ogx.files.multipart import MAX_FIELD_BYTES, FilePart, FormField, MultipartReader, boundary_of
from ogx_api import InvalidRequest, PayloadTooLarge


def encoded(data: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A body as httpx (and so the OpenAI SDK) encodes it."""
    request = httpx.Request("POST", "http://x", data=data, files=files)
    return request.read(), request.headers["content-type"]


async def split(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def read_all(body: bytes, content_type: str, size: int) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    async for part in MultipartReader(split(body, size), boundary_of(content_type)).parts():
        if isinstance(part, FormField):
            out.append(("field", part.name, part.value))
        else:
            content = b"".join([chunk async for chunk in part.chunks()])
            out.append(("file", part.name, (part.filename, part.content_type, content)))
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000, 1 << 20])
async def test_parts_come_out_whole_however_the_body_is_split(size):
    payload = bytes(range(256)) * 20 + b"\r\n--not-the-boundary\r\n"
    body, content_type = encoded(
        {"purpose": "assistants", "note": "café ☕"},
        {"file": ('résumé "v2".pdf', payload, "application/pdf")},
    )
    assert await read_all(body, content_type, size) == [
        ("field", "purpose", "assistants"),
        ("field", "note", "café ☕"),
        ("file", "file", ('résumé "v2".pdf', "application/pdf", payload)),
    ]


async def test_file_bytes_are_handed_on_before_the_body_ends():
    body, content_type = encoded({}, {"file": ("a.bin", b"x" * 300_000, "application/octet-stream")})
    received = 0
    seen_while_streaming: list[int] = []

    async def counting() -> AsyncIterator[bytes]:
        nonlocal received
        async for chunk in split(body, 65536):
            received += len(chunk)
            yield chunk

    async for part in MultipartReader(counting(), boundary_of(content_type)).parts():
        assert isinstance(part, FilePart)
        async for _ in part.chunks():
            seen_while_streaming.append(received)
    assert seen_while_streaming[0] <= 65536, "the first bytes come out with the first chunk of the body"
    assert len(seen_while_streaming) > 4


async def test_an_unread_file_part_is_skipped():
    # httpx puts fields first; this body has the file first.
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="skipped"; filename="a.bin"\r\n\r\n'.encode()
        + b"y" * 10_000
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="after"\r\n\r\nyes\r\n--{boundary}--\r\n'.encode()
    )
    names = [part.name async for part in MultipartReader(split(body, 100), boundary.encode()).parts()]
    assert names == ["skipped", "after"]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "multipart/form-data",
        "multipart/mixed; boundary=x",
        "text/plain; boundary=x",
    ],
)
def test_only_multipart_form_data_with_a_boundary_is_accepted(content_type):
    with pytest.raises(InvalidRequest):
        boundary_of(content_type)


async def test_a_huge_text_field_is_refused():
    body, content_type = encoded({"purpose": "x" * (MAX_FIELD_BYTES + 1)}, {"file": ("a", b"", "x/y")})
    with pytest.raises(PayloadTooLarge) as caught:
        await read_all(body, content_type, 4096)
    assert caught.value.param == "purpose"


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',  # no closing boundary
        b"--b\r\nX-Other: 1\r\n\r\nvalue\r\n--b--\r\n",  # no Content-Disposition
        b"--b\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--b--\r\n",  # no name
        b"garbage",
    ],
)
async def test_malformed_bodies_are_invalid_requests(body):
    with pytest.raises(InvalidRequest):
        await read_all(body, "multipart/form-data; boundary=b", 5)
