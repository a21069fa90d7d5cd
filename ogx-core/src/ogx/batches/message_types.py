"""The shapes of Anthropic's Message Batches API: the create body (each request's `params`
validated as `POST /v1/messages` validates its body) and what the endpoints answer."""

from __future__ import annotations

from typing import Any, Literal, Union, get_args, get_type_hints

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from ogx.anthropic import CreateMessageRequest
from ogx.anthropic.types import AnthropicError, AnthropicMessage

MAX_REQUESTS = 100_000  # Anthropic's limit per batch


class MessageBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    custom_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    params: CreateMessageRequest


class CreateMessageBatchRequest(BaseModel):
    """`POST /v1/messages/batches`."""

    model_config = ConfigDict(extra="forbid")

    requests: list[MessageBatchRequest] = Field(min_length=1, max_length=MAX_REQUESTS)


class MessageBatchRequestCounts(TypedDict):
    processing: int
    succeeded: int
    errored: int
    canceled: int
    expired: int


class MessageBatch(TypedDict):
    id: str
    type: Literal["message_batch"]
    processing_status: Literal["in_progress", "canceling", "ended"]
    request_counts: MessageBatchRequestCounts
    ended_at: str | None
    created_at: str
    expires_at: str
    cancel_initiated_at: str | None
    archived_at: str | None
    results_url: str | None


class MessageBatchList(TypedDict):
    data: list[MessageBatch]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DeletedMessageBatch(TypedDict):
    id: str
    type: Literal["message_batch_deleted"]


class SucceededResult(TypedDict):
    type: Literal["succeeded"]
    message: AnthropicMessage


# The error of an errored result, one member per error type as Anthropic's spec documents it.
_ERROR_TYPES: tuple[Any, ...] = tuple(
    TypedDict(  # type: ignore[operator]
        "".join(part.title() for part in name.split("_")), {"type": Literal[name], "message": str}
    )
    for name in get_args(get_type_hints(AnthropicError)["type"])
)


class BatchErrorResponse(TypedDict):
    type: Literal["error"]
    error: Union[_ERROR_TYPES]  # type: ignore[valid-type]  # noqa: UP007
    request_id: str | None


class ErroredResult(TypedDict):
    type: Literal["errored"]
    error: BatchErrorResponse


class CanceledResult(TypedDict):
    type: Literal["canceled"]


class ExpiredResult(TypedDict):
    type: Literal["expired"]


class MessageBatchResult(TypedDict):
    """One line of `GET /v1/messages/batches/{id}/results`."""

    custom_id: str
    result: SucceededResult | ErroredResult | CanceledResult | ExpiredResult
