"""OpenAI files endpoints: upload (multipart, streamed), list, retrieve, content, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from ogx.files.service import UPLOAD_PURPOSES
from ogx.files.upload import receive_upload
from ogx.server.body import response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx_api import InvalidRequest
from ogx_api.files import FileDeleted, FileList, OpenAIFile

router = APIRouter(prefix="/v1", tags=["files"])

_UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": list(UPLOAD_PURPOSES)},
                        "expires_after": {
                            "type": "object",
                            "required": ["anchor", "seconds"],
                            "properties": {
                                "anchor": {"type": "string", "enum": ["created_at"]},
                                "seconds": {"type": "integer", "minimum": 3600, "maximum": 2592000},
                            },
                        },
                    },
                },
                # as the OpenAI SDKs send it: `expires_after[anchor]`, `expires_after[seconds]`
                "encoding": {"expires_after": {"style": "deepObject", "explode": True}},
            }
        },
    }
}


@router.post(
    "/files",
    openapi_extra=_UPLOAD_FORM,
    responses=response_schema("OpenAIFile", OpenAIFile),
    summary="Upload a file (multipart/form-data: file, purpose, expires_after)",
)
async def upload_file(request: Request) -> Response:
    length = request.headers.get("content-length")
    created = await receive_upload(
        services(request).files,
        _body(request),
        content_type=request.headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
        expects_continue=request.headers.get("expect", "").lower() == "100-continue",
        owner=owner(request),
    )
    return json_response(created)


@router.get("/files", responses=response_schema("FileList", FileList), summary="List files")
async def list_files(
    request: Request,
    after: str | None = None,
    limit: int = Query(default=10_000),
    order: Literal["asc", "desc"] = "desc",
    purpose: str | None = None,
) -> Response:
    files = services(request).files
    return json_response(
        await files.list(owner=owner(request), after=after, limit=limit, order=order, purpose=purpose)
    )


@router.get(
    "/files/{file_id}", responses=response_schema("OpenAIFile", OpenAIFile), summary="Retrieve a file"
)
async def retrieve_file(request: Request, file_id: str) -> Response:
    return json_response(await services(request).files.get(file_id, owner(request)))


@router.get("/files/{file_id}/content", summary="Retrieve a file's contents")
async def retrieve_file_content(request: Request, file_id: str) -> Response:
    info, chunks = await services(request).files.open(file_id, owner(request))
    # The first chunk before answering: missing bytes are an ordinary error, not a broken body.
    first = await anext(chunks, b"")

    async def relay() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    return StreamingResponse(
        relay(),
        media_type=info.content_type,
        headers={
            "content-length": str(info.bytes),
            "content-disposition": _attachment(info.filename),
            "x-content-type-options": "nosniff",
        },
    )


@router.delete(
    "/files/{file_id}",
    responses=response_schema("FileDeleted", FileDeleted),
    summary="Delete a file and remove it from all vector stores",
)
async def delete_file(request: Request, file_id: str) -> Response:
    return json_response(await services(request).files.delete(file_id, owner(request)))


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise InvalidRequest(
            "the client disconnected during the upload", code="client_disconnected"
        ) from None


def _attachment(filename: str) -> str:
    """`Content-Disposition` for any filename: a plain ASCII fallback plus the exact UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
