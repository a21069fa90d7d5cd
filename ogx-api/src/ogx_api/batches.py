"""The OpenAI Batches API's shapes: the `Batch` object as the batches endpoints return it, its
list, and one line of a batch's output or error file. Times are unix seconds."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]


class BatchError(TypedDict):
    code: str
    message: str
    param: str | None
    line: int | None


class BatchErrors(TypedDict):
    object: Literal["list"]
    data: list[BatchError]


class BatchRequestCounts(TypedDict):
    total: int
    completed: int
    failed: int


class BatchInputTokensDetails(TypedDict):
    cached_tokens: int


class BatchOutputTokensDetails(TypedDict):
    reasoning_tokens: int


class BatchUsage(TypedDict):
    input_tokens: int
    input_tokens_details: BatchInputTokensDetails
    output_tokens: int
    output_tokens_details: BatchOutputTokensDetails
    total_tokens: int


class Batch(TypedDict):
    id: str
    object: Literal["batch"]
    endpoint: str
    model: NotRequired[str | None]
    errors: NotRequired[BatchErrors | None]
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: NotRequired[str | None]
    error_file_id: NotRequired[str | None]
    created_at: int
    in_progress_at: NotRequired[int | None]
    expires_at: NotRequired[int | None]
    finalizing_at: NotRequired[int | None]
    completed_at: NotRequired[int | None]
    failed_at: NotRequired[int | None]
    expired_at: NotRequired[int | None]
    cancelling_at: NotRequired[int | None]
    cancelled_at: NotRequired[int | None]
    request_counts: NotRequired[BatchRequestCounts | None]
    usage: NotRequired[BatchUsage | None]
    metadata: NotRequired[dict[str, str] | None]


class BatchList(TypedDict):
    object: Literal["list"]
    data: list[Batch]
    first_id: str | None
    last_id: str | None
    has_more: bool


class BatchLineResponse(TypedDict):
    status_code: int
    request_id: str
    body: dict[str, Any]


class BatchLineError(TypedDict):
    code: str
    message: str


class BatchOutputLine(TypedDict):
    """One line of an output file (a response) or an error file (`error`, or an error response)."""

    id: str
    custom_id: str | None
    response: BatchLineResponse | None
    error: BatchLineError | None
