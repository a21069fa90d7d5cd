"""Response shapes of the Messages API as TypedDicts: the translation builds plain dicts (written
with orjson, never validated per response), these give them types and the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class AnthropicCacheCreation(TypedDict):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class AnthropicUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    cache_creation: AnthropicCacheCreation | None
    server_tool_use: dict[str, int] | None
    service_tier: Literal["standard", "priority", "batch"] | None
    inference_geo: str | None
    estimated: NotRequired[bool]  # OGX: the backend reported no usage; counted from the stream


class ResponseTextBlock(TypedDict):
    type: Literal["text"]
    text: str
    citations: list[dict[str, Any]] | None


class ResponseThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class ResponseToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    caller: dict[str, Any]


ResponseContentBlock = ResponseTextBlock | ResponseThinkingBlock | ResponseToolUseBlock


class AnthropicMessage(TypedDict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[ResponseContentBlock]
    model: str
    stop_reason: StopReason | None
    stop_sequence: str | None
    stop_details: dict[str, Any] | None
    usage: AnthropicUsage
    container: dict[str, Any] | None


class CountTokensResponse(TypedDict):
    input_tokens: int
    estimated: NotRequired[bool]  # OGX: true when no tokenizer of the model was available


class AnthropicError(TypedDict):
    type: Literal[
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "timeout_error",
        "api_error",
        "overloaded_error",
    ]
    message: str


class AnthropicErrorResponse(TypedDict):
    type: Literal["error"]
    error: AnthropicError
    request_id: str | None
