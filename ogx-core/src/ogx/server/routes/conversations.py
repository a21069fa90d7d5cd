"""OpenAI Conversations API: conversations (create, get, update metadata, delete) and their
items (add, list, get, delete). Item shapes are OpenAI's own schemas (`ogx.conversations.schemas`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ogx.conversations import MAX_ITEMS_PER_REQUEST
from ogx.conversations.items import INCLUDE_VALUES
from ogx.conversations.schemas import components, ref
from ogx.deferred import DeferredModel
from ogx.server.body import document_components, json_content, parse_body, request_json
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx_api import InvalidRequest
from ogx_api.metadata import Metadata

router = APIRouter(prefix="/v1", tags=["conversations"])
document_components(components())

_ADD_ITEMS = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": ref("InputItem"), "maxItems": MAX_ITEMS_PER_REQUEST}},
    "required": ["items"],
}


# Bodies are parsed with these models; items are then validated against OpenAI's schemas, which
# `/openapi.json` documents (`CreateConversationBody`, `UpdateConversationBody`).
class CreateConversation(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[Any] | None, Field(max_length=MAX_ITEMS_PER_REQUEST)] = None
    metadata: Metadata | None = None


class UpdateConversation(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    metadata: Metadata


class AddConversationItems(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[Any], Field(max_length=MAX_ITEMS_PER_REQUEST)]


_INCLUDE = Query(None, description=f"Fields to include: {', '.join(INCLUDE_VALUES)}")


@router.post(
    "/conversations",
    openapi_extra=request_json(ref("CreateConversationBody")),
    responses=json_content(ref("ConversationResource")),
    summary="Create a conversation",
)
async def create_conversation(request: Request) -> Response:
    # An empty body is a conversation without items or metadata.
    body = await parse_body(request, CreateConversation) if await request.body() else CreateConversation()
    conversations = services(request).conversations
    return json_response(
        await conversations.create(items=body.items, metadata=body.metadata, owner=owner(request))
    )


@router.get(
    "/conversations/{conversation_id}",
    responses=json_content(ref("ConversationResource")),
    summary="Get a conversation",
)
async def get_conversation(request: Request, conversation_id: str) -> Response:
    return json_response(await services(request).conversations.get(conversation_id, owner(request)))


@router.post(
    "/conversations/{conversation_id}",
    openapi_extra=request_json(ref("UpdateConversationBody")),
    responses=json_content(ref("ConversationResource")),
    summary="Update a conversation's metadata",
)
async def update_conversation(request: Request, conversation_id: str) -> Response:
    body = await parse_body(request, UpdateConversation)
    conversations = services(request).conversations
    return json_response(await conversations.update(conversation_id, body.metadata, owner(request)))


@router.delete(
    "/conversations/{conversation_id}",
    responses=json_content(ref("DeletedConversationResource")),
    summary="Delete a conversation and its items",
)
async def delete_conversation(request: Request, conversation_id: str) -> Response:
    return json_response(await services(request).conversations.delete(conversation_id, owner(request)))


@router.post(
    "/conversations/{conversation_id}/items",
    openapi_extra=request_json(_ADD_ITEMS),
    responses=json_content(ref("ConversationItemList")),
    summary="Add items to a conversation (at most 20 at a time)",
)
async def add_conversation_items(
    request: Request, conversation_id: str, include: list[str] | None = _INCLUDE
) -> Response:
    body = await parse_body(request, AddConversationItems)
    conversations = services(request).conversations
    return json_response(
        await conversations.add_items(conversation_id, body.items, owner(request), _includes(request))
    )


@router.get(
    "/conversations/{conversation_id}/items",
    responses=json_content(ref("ConversationItemList")),
    summary="List a conversation's items",
)
async def list_conversation_items(
    request: Request,
    conversation_id: str,
    after: str | None = None,
    limit: int = Query(default=20),
    order: Literal["asc", "desc"] = "desc",
    include: list[str] | None = _INCLUDE,
) -> Response:
    conversations = services(request).conversations
    return json_response(
        await conversations.list_items(
            conversation_id,
            owner=owner(request),
            after=after,
            limit=limit,
            order=order,
            include=_includes(request),
        )
    )


@router.get(
    "/conversations/{conversation_id}/items/{item_id}",
    responses=json_content(ref("ConversationItem")),
    summary="Get an item of a conversation",
)
async def get_conversation_item(
    request: Request, conversation_id: str, item_id: str, include: list[str] | None = _INCLUDE
) -> Response:
    conversations = services(request).conversations
    return json_response(
        await conversations.get_item(conversation_id, item_id, owner(request), _includes(request))
    )


@router.delete(
    "/conversations/{conversation_id}/items/{item_id}",
    responses=json_content(ref("ConversationResource")),
    summary="Delete an item of a conversation (returns the conversation)",
)
async def delete_conversation_item(request: Request, conversation_id: str, item_id: str) -> Response:
    conversations = services(request).conversations
    return json_response(await conversations.delete_item(conversation_id, item_id, owner(request)))


def _includes(request: Request) -> set[str]:
    """`include` as `include=a&include=b` or, as the OpenAI SDK sends it, `include[]=a`."""
    values: Any = request.query_params.getlist("include") + request.query_params.getlist("include[]")
    unknown = [v for v in values if v not in INCLUDE_VALUES]
    if unknown:
        raise InvalidRequest(
            f"include: unknown value {unknown[0][:64]!r}; one of: {', '.join(INCLUDE_VALUES)}",
            param="include",
        )
    return set(values)
