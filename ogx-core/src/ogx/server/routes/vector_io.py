"""OGX's native endpoints: pre-embedded chunks into a vector store's index and queries on it
(`/v1/vector-io/*`), and files into chunks (`/v1alpha/file-processors/process`) on the same
extraction and chunking as vector-store ingestion."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from typing_extensions import TypedDict

from ogx.deferred import DeferredModel, deferred_adapter
from ogx.file_processing import ChunkingStrategy, TextChunk, process, resolved
from ogx.files.multipart import FilePart, FormField, MultipartReader, boundary_of
from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import invalid_request, json_response
from ogx.server.services import owner, services
from ogx.vector_stores import native
from ogx.vector_stores.models import VectorIOInsertRequest, VectorIOQueryRequest
from ogx_api import InvalidRequest

router = APIRouter(tags=["vector io"])


class VectorIOInsertResponse(TypedDict):
    object: Literal["vector_io.insert"]
    vector_store_id: str
    inserted: int


class QueriedChunk(TypedDict):
    chunk: dict[str, Any]
    score: float


class VectorIOQueryResponse(TypedDict):
    object: Literal["list"]
    data: list[QueriedChunk]


@router.post(
    "/v1/vector-io/insert",
    openapi_extra=request_body(VectorIOInsertRequest),
    responses=response_schema("VectorIOInsertResponse", VectorIOInsertResponse),
    summary="Insert pre-embedded chunks into a vector store's index",
)
async def vector_io_insert(request: Request) -> Response:
    body = await parse_body(request, VectorIOInsertRequest)
    return json_response(await native.insert(services(request).vector_stores, body, owner=owner(request)))


@router.post(
    "/v1/vector-io/query",
    openapi_extra=request_body(VectorIOQueryRequest),
    responses=response_schema("VectorIOQueryResponse", VectorIOQueryResponse),
    summary="Query a vector store's index (vector, keyword or hybrid)",
)
async def vector_io_query(request: Request) -> Response:
    body = await parse_body(request, VectorIOQueryRequest)
    return json_response(await native.query(services(request).vector_stores, body, owner=owner(request)))


# -- file processors --------------------------------------------------------------------------


class ProcessFileRequest(DeferredModel):
    """JSON form: a stored file by id. The multipart form takes `file` (or `file_id`) and an
    optional `chunking_strategy` field holding JSON."""

    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(min_length=1)
    chunking_strategy: ChunkingStrategy | None = None


class ProcessedChunk(TypedDict):
    index: int
    content: str
    token_count: int
    start_token: int


class ProcessFileResponse(TypedDict):
    object: Literal["file_processors.result"]
    filename: str
    chunking_strategy: dict[str, Any]
    chunks: list[ProcessedChunk]


_strategy = deferred_adapter(ChunkingStrategy)
request_body(ProcessFileRequest)  # documents the JSON form of the body below
_PROCESS_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ProcessFileRequest"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "file_id": {"type": "string"},
                        "chunking_strategy": {"type": "string", "description": "JSON"},
                    },
                }
            },
        },
    }
}


@router.post(
    "/v1alpha/file-processors/process",
    openapi_extra=_PROCESS_FORM,
    responses=response_schema("ProcessFileResponse", ProcessFileResponse),
    summary="Extract a file's text and chunk it (an upload or a stored file)",
)
async def process_file(request: Request) -> Response:
    files = services(request).files
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        filename, data, file_type, file_id, strategy = await _read_form(request, files.max_upload_bytes)
    else:
        body = await parse_body(request, ProcessFileRequest)
        filename, data, file_type, file_id, strategy = None, b"", None, body.file_id, body.chunking_strategy
    if file_id is not None:
        info, stream = await files.open(file_id, owner(request))
        filename, file_type = info.filename, info.content_type
        data = b"".join([part async for part in stream])
    if filename is None:
        raise InvalidRequest("give a `file` to upload or a `file_id`", param="file")
    chunks = await asyncio.to_thread(process, data, filename, file_type, strategy)
    return json_response(
        {
            "object": "file_processors.result",
            "filename": filename,
            "chunking_strategy": resolved(strategy),
            "chunks": [_chunk(c) for c in chunks],
        }
    )


def _chunk(chunk: TextChunk) -> dict[str, Any]:
    return {
        "index": chunk.index,
        "content": chunk.text,
        "token_count": chunk.tokens,
        "start_token": chunk.start_token,
    }


async def _read_form(request: Request, limit: int) -> tuple[str | None, bytes, str | None, str | None, Any]:
    reader = MultipartReader(request.stream(), boundary_of(request.headers.get("content-type")))
    filename = file_type = file_id = None
    data = bytearray()
    strategy = None
    async for part in reader.parts():
        if isinstance(part, FilePart) and part.name == "file":
            filename, file_type = part.filename, part.content_type
            async for piece in part.chunks():
                data += piece
                if len(data) > limit:
                    raise services(request).files.too_large()
        elif isinstance(part, FormField) and part.name == "file_id":
            file_id = part.value
        elif isinstance(part, FormField) and part.name == "chunking_strategy":
            try:
                raw = orjson.loads(part.value)
            except orjson.JSONDecodeError:
                raise InvalidRequest("chunking_strategy must be JSON", param="chunking_strategy") from None
            try:
                strategy = _strategy.validate_python(raw)
            except ValidationError as exc:
                raise invalid_request(exc, raw) from None
    return filename, bytes(data), file_type, file_id, strategy
