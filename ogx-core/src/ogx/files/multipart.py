"""A streaming `multipart/form-data` reader over an async byte stream (a request body).

Parts come out in order as they arrive: a form field whole (bounded in size), a file part as
its headers plus an async iterator over its bytes, which are handed on chunk by chunk as the
body is received. Nothing holds a whole upload in memory, and a consumer may stop reading a
file part early (the rest of it is skipped).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ogx_api import InvalidRequest, PayloadTooLarge

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS_BYTES = 1024 * 1024
MAX_PARTS = 100


@dataclass(frozen=True)
class FormField:
    name: str
    value: str


@dataclass
class FilePart:
    name: str
    filename: str
    content_type: str | None
    _reader: MultipartReader

    def chunks(self) -> AsyncIterator[bytes]:
        """The part's bytes as they arrive; call once, before asking for the next part."""
        return self._reader._file_chunks()


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise InvalidRequest(
            f"the request body must be multipart/form-data, not {content_type or 'missing'}",
            code="invalid_content_type",
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidRequest("the multipart/form-data content type has no boundary", code="invalid_multipart")
    return boundary


class MultipartReader:
    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._events: deque[tuple[str, Any]] = deque()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._ended = False
        self._body_done = False
        self._in_file = False
        callbacks: Any = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        try:
            self._parser = MultipartParser(boundary, callbacks)
        except ValueError as exc:  # FormParserError: an overlong boundary
            raise InvalidRequest(f"bad multipart boundary: {exc}", code="invalid_multipart") from None

    async def parts(self) -> AsyncIterator[FormField | FilePart]:
        fields_size = 0
        count = 0
        while (event := await self._next()) is not None:
            kind, headers = event
            if kind != "part":
                continue  # data of a file part its consumer left unread
            count += 1
            if count > MAX_PARTS:
                raise InvalidRequest(f"too many parts (more than {MAX_PARTS})", code="invalid_multipart")
            name, filename, content_type = _describe(headers)
            if filename is not None:
                self._in_file = True
                yield FilePart(name, filename, content_type, self)
                self._in_file = False
                continue
            value = bytearray()
            while (event := await self._next()) is not None and event[0] == "data":
                value += event[1]
                fields_size += len(event[1])
                if len(value) > MAX_FIELD_BYTES or fields_size > MAX_FIELDS_BYTES:
                    raise PayloadTooLarge(
                        f"form field {name!r} is too large (fields may hold {MAX_FIELD_BYTES} bytes each)",
                        param=name,
                    )
            yield FormField(name, value.decode("utf-8", errors="replace"))

    async def _file_chunks(self) -> AsyncIterator[bytes]:
        while self._in_file and (event := await self._next()) is not None:
            if event[0] != "data":
                break
            yield event[1]
        self._in_file = False

    async def _next(self) -> tuple[str, Any] | None:
        while not self._events:
            if self._body_done:
                if not self._ended:
                    raise InvalidRequest(
                        "the multipart body ended early (no closing boundary)", code="invalid_multipart"
                    )
                return None
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._body_done = True
                continue
            if self._ended:
                continue  # the epilogue after the closing boundary
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise InvalidRequest(f"malformed multipart body: {exc}", code="invalid_multipart") from None
        return self._events.popleft()

    # python-multipart's callbacks, called synchronously from `write()`.

    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").strip().lower()] = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(("part", self._headers))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", data[start:end]))

    def _on_part_end(self) -> None:
        self._events.append(("end", None))

    def _on_end(self) -> None:
        self._ended = True


def _describe(headers: dict[str, bytes]) -> tuple[str, str | None, str | None]:
    """(field name, filename or None for a plain field, content type) of a part."""
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise InvalidRequest("a multipart part has no Content-Disposition header", code="invalid_multipart")
    # Header bytes are UTF-8 in practice (RFC 7578); latin-1 carries them through the parser intact.
    _, options = parse_options_header(disposition.decode("latin-1"))
    name = options.get(b"name")
    if name is None:
        raise InvalidRequest("a multipart part has no field name", code="invalid_multipart")
    filename = options.get(b"filename")
    content_type = headers.get("content-type")
    return (
        _text(name),
        # Browsers and httpx escape a quote in a filename as %22 (the HTML form encoding).
        None if filename is None else _text(filename).replace("%22", '"'),
        None if content_type is None else _text(content_type),
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
