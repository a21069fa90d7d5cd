"""OpenAI vector stores endpoints: stores, their files, file batches and search."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx.vector_stores import VectorStoresService
from ogx.vector_stores import models as m

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])

Order = Literal["asc", "desc"]
StatusFilter = Literal["in_progress", "completed", "failed", "cancelled"]


def _service(request: Request) -> VectorStoresService:
    return services(request).vector_stores


_STORE = response_schema("VectorStoreObject", m.VectorStoreObject)
_FILE = response_schema("VectorStoreFileObject", m.VectorStoreFileObject)
_BATCH = response_schema("VectorStoreFileBatchObject", m.VectorStoreFileBatchObject)
_FILES = response_schema("ListVectorStoreFilesResponse", m.ListVectorStoreFilesResponse)


@router.post(
    "",
    openapi_extra=request_body(m.CreateVectorStoreRequest),
    responses=_STORE,
    summary="Create a vector store",
)
async def create_vector_store(request: Request) -> Response:
    body = await parse_body(request, m.CreateVectorStoreRequest)
    return json_response(await _service(request).create(body, owner=owner(request)))


@router.get(
    "",
    responses=response_schema("ListVectorStoresResponse", m.ListVectorStoresResponse),
    summary="List vector stores",
)
async def list_vector_stores(
    request: Request,
    limit: int = Query(default=20),
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
) -> Response:
    listed = await _service(request).list(
        owner=owner(request), after=after, before=before, limit=limit, order=order
    )
    return json_response(listed)


@router.get("/{vector_store_id}", responses=_STORE, summary="Retrieve a vector store")
async def retrieve_vector_store(request: Request, vector_store_id: str) -> Response:
    return json_response(await _service(request).get(vector_store_id, owner(request)))


@router.post(
    "/{vector_store_id}",
    openapi_extra=request_body(m.UpdateVectorStoreRequest),
    responses=_STORE,
    summary="Modify a vector store",
)
async def modify_vector_store(request: Request, vector_store_id: str) -> Response:
    body = await parse_body(request, m.UpdateVectorStoreRequest)
    return json_response(await _service(request).update(vector_store_id, body, owner=owner(request)))


@router.delete(
    "/{vector_store_id}",
    responses=response_schema("DeleteVectorStoreResponse", m.DeleteVectorStoreResponse),
    summary="Delete a vector store (and its index)",
)
async def delete_vector_store(request: Request, vector_store_id: str) -> Response:
    return json_response(await _service(request).delete(vector_store_id, owner(request)))


# -- files ------------------------------------------------------------------------------------


@router.post(
    "/{vector_store_id}/files",
    openapi_extra=request_body(m.CreateVectorStoreFileRequest),
    responses=_FILE,
    summary="Attach a file (ingested in the background)",
)
async def create_vector_store_file(request: Request, vector_store_id: str) -> Response:
    body = await parse_body(request, m.CreateVectorStoreFileRequest)
    return json_response(await _service(request).attach(vector_store_id, body, owner=owner(request)))


@router.get("/{vector_store_id}/files", responses=_FILES, summary="List a vector store's files")
async def list_vector_store_files(
    request: Request,
    vector_store_id: str,
    limit: int = Query(default=20),
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
    filter: StatusFilter | None = None,
) -> Response:
    listed = await _service(request).list_files(
        vector_store_id,
        owner=owner(request),
        after=after,
        before=before,
        limit=limit,
        order=order,
        status=filter,
    )
    return json_response(listed)


@router.get("/{vector_store_id}/files/{file_id}", responses=_FILE, summary="Retrieve a vector store file")
async def retrieve_vector_store_file(request: Request, vector_store_id: str, file_id: str) -> Response:
    return json_response(await _service(request).get_file(vector_store_id, file_id, owner(request)))


@router.post(
    "/{vector_store_id}/files/{file_id}",
    openapi_extra=request_body(m.UpdateVectorStoreFileAttributesRequest),
    responses=_FILE,
    summary="Update a vector store file's attributes",
)
async def update_vector_store_file(request: Request, vector_store_id: str, file_id: str) -> Response:
    body = await parse_body(request, m.UpdateVectorStoreFileAttributesRequest)
    updated = await _service(request).update_file(
        vector_store_id, file_id, body.attributes, owner=owner(request)
    )
    return json_response(updated)


@router.delete(
    "/{vector_store_id}/files/{file_id}",
    responses=response_schema("DeleteVectorStoreFileResponse", m.DeleteVectorStoreFileResponse),
    summary="Detach a file (its chunks leave the index)",
)
async def delete_vector_store_file(request: Request, vector_store_id: str, file_id: str) -> Response:
    return json_response(await _service(request).delete_file(vector_store_id, file_id, owner(request)))


@router.get(
    "/{vector_store_id}/files/{file_id}/content",
    responses=response_schema("VectorStoreFileContentResponse", m.VectorStoreFileContentResponse),
    summary="Retrieve a vector store file's parsed content",
)
async def retrieve_vector_store_file_content(
    request: Request, vector_store_id: str, file_id: str
) -> Response:
    return json_response(await _service(request).file_content(vector_store_id, file_id, owner(request)))


# -- file batches -----------------------------------------------------------------------------


@router.post(
    "/{vector_store_id}/file_batches",
    openapi_extra=request_body(m.CreateVectorStoreFileBatchRequest),
    responses=_BATCH,
    summary="Attach a batch of files",
)
async def create_vector_store_file_batch(request: Request, vector_store_id: str) -> Response:
    body = await parse_body(request, m.CreateVectorStoreFileBatchRequest)
    return json_response(await _service(request).create_batch(vector_store_id, body, owner=owner(request)))


@router.get("/{vector_store_id}/file_batches/{batch_id}", responses=_BATCH, summary="Retrieve a file batch")
async def retrieve_vector_store_file_batch(request: Request, vector_store_id: str, batch_id: str) -> Response:
    return json_response(await _service(request).get_batch(vector_store_id, batch_id, owner(request)))


@router.post(
    "/{vector_store_id}/file_batches/{batch_id}/cancel", responses=_BATCH, summary="Cancel a file batch"
)
async def cancel_vector_store_file_batch(request: Request, vector_store_id: str, batch_id: str) -> Response:
    return json_response(await _service(request).cancel_batch(vector_store_id, batch_id, owner(request)))


@router.get(
    "/{vector_store_id}/file_batches/{batch_id}/files", responses=_FILES, summary="List a batch's files"
)
async def list_files_in_vector_store_batch(
    request: Request,
    vector_store_id: str,
    batch_id: str,
    limit: int = Query(default=20),
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
    filter: StatusFilter | None = None,
) -> Response:
    listed = await _service(request).list_files(
        vector_store_id,
        owner=owner(request),
        after=after,
        before=before,
        limit=limit,
        order=order,
        status=filter,
        batch_id=batch_id,
    )
    return json_response(listed)


# -- search -----------------------------------------------------------------------------------


@router.post(
    "/{vector_store_id}/search",
    openapi_extra=request_body(m.VectorStoreSearchRequest),
    responses=response_schema("VectorStoreSearchResultsPage", m.VectorStoreSearchResultsPage),
    summary="Search a vector store",
)
async def search_vector_store(request: Request, vector_store_id: str) -> Response:
    body = await parse_body(request, m.VectorStoreSearchRequest)
    page = await _service(request).search(
        vector_store_id,
        query=body.query,
        filters=body.filters,
        max_num_results=body.max_num_results,
        ranking_options=body.ranking_options,
        search_mode=body.search_mode,
        rewrite_query=body.rewrite_query,
        hybrid_ranker=body.hybrid_ranker,
        owner=owner(request),
    )
    return json_response(page)
