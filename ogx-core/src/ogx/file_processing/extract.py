"""Text out of a file's bytes: txt, md, html, json, csv and pdf (pypdf). The type comes from the
filename's extension, else from the content type. A type we cannot read is `UnsupportedFile`; a
file of a known type that is broken or holds no text is `InvalidFile`."""

from __future__ import annotations

import csv
import io
import json
import logging
from html.parser import HTMLParser
from pathlib import PurePath

from ogx_api import InvalidRequest

logger = logging.getLogger(__name__)

_KINDS = {
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".md": "text",
    ".markdown": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
    ".pdf": "pdf",
}
_CONTENT_TYPES = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
    "text/html": "html",
    "application/json": "json",
    "text/csv": "csv",
    "application/pdf": "pdf",
}
SUPPORTED_EXTENSIONS = tuple(_KINDS)


class UnsupportedFile(InvalidRequest):
    """The file's type is not one we extract text from."""

    def __init__(self, message: str, *, param: str | None = "file_id") -> None:
        super().__init__(message, param=param, code="unsupported_file")


class InvalidFile(InvalidRequest):
    """The file's type is supported but its content is broken or holds no text."""

    def __init__(self, message: str, *, param: str | None = "file_id") -> None:
        super().__init__(message, param=param, code="invalid_file")


def file_kind(filename: str, content_type: str | None) -> str:
    """`text`, `html`, `json`, `csv` or `pdf`; `UnsupportedFile` otherwise."""
    kind = _KINDS.get(PurePath(filename).suffix.lower())
    if kind is None and content_type:
        kind = _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
    if kind is None:
        raise UnsupportedFile(
            f"file {filename!r} has an unsupported type; supported extensions: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return kind


def extract_text(data: bytes, filename: str, content_type: str | None = None) -> str:
    """The file's text; raises `UnsupportedFile` or `InvalidFile`."""
    kind = file_kind(filename, content_type)
    if not data:
        raise InvalidFile(f"file {filename!r} is empty")
    text = _pdf(data, filename) if kind == "pdf" else _TEXT_READERS[kind](_decode(data, filename), filename)
    if not text.strip():
        raise InvalidFile(f"file {filename!r} contains no text")
    return text


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"file {filename!r} is not UTF-8 text (byte {exc.start})") from None


def _plain(text: str, filename: str) -> str:
    return text


def _json(text: str, filename: str) -> str:
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidFile(f"file {filename!r} is not valid JSON: {exc}") from None
    return text


def _csv(text: str, filename: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidFile(f"file {filename!r} is not valid CSV: {exc}") from None
    return "\n".join(", ".join(cell.strip() for cell in row) for row in rows if any(row))


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(text: str, filename: str) -> str:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _pdf(data: bytes, filename: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidFile(f"file {filename!r} is an encrypted PDF")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except InvalidFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise InvalidFile(f"file {filename!r} is not a readable PDF: {exc}") from None


_TEXT_READERS = {"text": _plain, "html": _html, "json": _json, "csv": _csv}
