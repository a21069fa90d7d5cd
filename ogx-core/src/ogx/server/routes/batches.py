"""OpenAI batches endpoints: create, list, retrieve, cancel."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ogx.batches import CreateBatchRequest
from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx_api.batches import Batch, BatchList

router = APIRouter(prefix="/v1", tags=["batches"])


@router.post(
    "/batches",
    openapi_extra=request_body(CreateBatchRequest),
    responses=response_schema("Batch", Batch),
    summary="Create and run a batch from an uploaded JSONL file of requests",
)
async def create_batch(request: Request) -> Response:
    body = await parse_body(request, CreateBatchRequest)
    return json_response(await services(request).batches.create(body, owner(request)))


@router.get("/batches", responses=response_schema("BatchList", BatchList), summary="List batches")
async def list_batches(
    request: Request, after: str | None = None, limit: int = Query(default=20)
) -> Response:
    return json_response(await services(request).batches.list(owner=owner(request), after=after, limit=limit))


@router.get("/batches/{batch_id}", responses=response_schema("Batch", Batch), summary="Retrieve a batch")
async def retrieve_batch(request: Request, batch_id: str) -> Response:
    return json_response(await services(request).batches.get(batch_id, owner(request)))


@router.post(
    "/batches/{batch_id}/cancel",
    responses=response_schema("Batch", Batch),
    summary="Cancel a batch: no new request starts; it ends cancelled with the results so far",
)
async def cancel_batch(request: Request, batch_id: str) -> Response:
    return json_response(await services(request).batches.cancel(batch_id, owner(request)))
