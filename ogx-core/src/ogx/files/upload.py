"""`POST /v1/files`: a multipart upload (`file`, `purpose`, `expires_after`) streamed into the
files service. The file's bytes go to the provider as they arrive, counted against the size
limit; the form fields may come before or after the file, as clients send them."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator

import orjson

from ogx.files.multipart import MAX_FIELDS_BYTES, FilePart, FormField, MultipartReader, boundary_of
from ogx.files.service import (
    MAX_EXPIRY_SECONDS,
    MIN_EXPIRY_SECONDS,
    UPLOAD_PURPOSES,
    FilesService,
    StagedFile,
)
from ogx_api import InvalidRequest, OGXError

# What a legitimate upload's body may hold besides the file: form fields and part headers.
FORM_OVERHEAD = MAX_FIELDS_BYTES + 64 * 1024
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")


class RequestBody:
    """A request body as an async iterator that counts what it has read and can drain the rest."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.received = 0
        self.done = False

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            self.done = True
            raise
        self.received += len(chunk)
        return chunk

    async def drain(self, limit: int) -> None:
        """Read and drop up to `limit` more bytes. A client still sending gets the error response
        this way, rather than a connection reset that can swallow it."""
        stop = self.received + limit
        try:
            while not self.done and self.received < stop:
                await anext(self)
        except (StopAsyncIteration, OGXError):
            pass


async def receive_upload(
    files: FilesService,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    expects_continue: bool,
    owner: str | None,
) -> dict[str, object]:
    """Store the uploaded file and return its `OpenAIFile` object. Bad fields are 400s naming
    the field; a file over the limit is a 413, and nothing of it is kept."""
    body = RequestBody(chunks)
    try:
        return await _receive(files, body, content_type, content_length, owner)
    except OGXError:
        # With `Expect: 100-continue` and nothing read yet, the client has not started sending.
        if not (expects_continue and body.received == 0):
            await body.drain(files.max_upload_bytes + FORM_OVERHEAD)
        raise


async def _receive(
    files: FilesService,
    body: RequestBody,
    content_type: str | None,
    content_length: int | None,
    owner: str | None,
) -> dict[str, object]:
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > files.max_upload_bytes + FORM_OVERHEAD:
        raise files.too_large()
    fields: dict[str, str] = {}
    upload: FilePart | None = None
    staged: StagedFile | None = None
    try:
        async for part in MultipartReader(body, boundary).parts():
            if isinstance(part, FormField):
                fields[part.name] = part.value
                if part.name == "purpose":
                    _purpose(part.value)  # fail before the file is stored, when it comes first
            elif part.name == "file":
                if upload is not None:
                    raise InvalidRequest("only one file can be uploaded per request", param="file")
                upload = part
                staged = await files.stage(part.chunks(), owner=owner)
        if upload is None or staged is None:
            raise _missing_file("file" in fields)
        if not upload.filename or "\x00" in upload.filename:
            raise InvalidRequest("file needs a filename (without NUL characters)", param="file")
        return await files.commit(
            staged,
            filename=upload.filename,
            purpose=_purpose(fields.get("purpose")),
            expires_after=_expires_after(fields),
            content_type=_media_type(upload),
        )
    except BaseException:  # also a client that goes away: staged bytes are discarded, the error re-raised
        if staged is not None:
            await files.discard(staged)
        raise


def _missing_file(sent_as_field: bool) -> InvalidRequest:
    if sent_as_field:
        return InvalidRequest(
            "file must be a file upload (a part with a filename), not a text field", param="file"
        )
    return InvalidRequest("file is required (a multipart part named 'file')", param="file")


def _purpose(value: str | None) -> str:
    if value is None:
        raise InvalidRequest(f"purpose is required; one of: {', '.join(UPLOAD_PURPOSES)}", param="purpose")
    if value not in UPLOAD_PURPOSES:
        raise InvalidRequest(
            f"unknown purpose {value!r}; one of: {', '.join(UPLOAD_PURPOSES)}",
            param="purpose",
            code="invalid_value",
        )
    return value


def _expires_after(fields: dict[str, str]) -> int | None:
    """`expires_after[anchor]` and `expires_after[seconds]` (how the OpenAI SDKs encode the
    object in a form), or `expires_after` as a JSON object."""
    if "expires_after" in fields:
        try:
            value = orjson.loads(fields["expires_after"])
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise InvalidRequest(
                'expires_after must be an object like {"anchor": "created_at", "seconds": 86400}',
                param="expires_after",
                code="invalid_value",
            )
        anchor, seconds = value.get("anchor"), value.get("seconds")
    elif "expires_after[anchor]" in fields or "expires_after[seconds]" in fields:
        anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    else:
        return None
    if anchor != "created_at":
        problem = "is required" if anchor is None else f"must be 'created_at', not {anchor!r}"
        raise InvalidRequest(
            f"expires_after.anchor {problem}", param="expires_after.anchor", code="invalid_value"
        )
    try:
        seconds = int(seconds) if isinstance(seconds, int | str) and not isinstance(seconds, bool) else None
    except ValueError:
        seconds = None
    if seconds is None or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
        raise InvalidRequest(
            f"expires_after.seconds must be an integer from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}",
            param="expires_after.seconds",
            code="invalid_value",
        )
    return seconds


def _media_type(upload: FilePart) -> str:
    """The part's own content type when it says something, else a guess from the filename."""
    given = (upload.content_type or "").strip()
    if given and given != "application/octet-stream" and len(given) <= 255 and _MEDIA_TYPE.match(given):
        return given
    return mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
