"""The shapes the Responses API answers, as TypedDicts: they document `/openapi.json` (the
service builds plain dicts and never validates them per response)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from ogx.responses.schema import ReasoningConfig, RunnableTool, RunnableToolChoice, TextConfig


class LogProb(TypedDict):
    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[dict[str, Any]]


class FileCitation(TypedDict):
    type: Literal["file_citation"]
    file_id: str
    filename: str
    index: int


class OutputTextPart(TypedDict):
    type: Literal["output_text"]
    text: str
    annotations: list[FileCitation]
    logprobs: list[LogProb]


class OutputRefusal(TypedDict):
    type: Literal["refusal"]
    refusal: str


class ReasoningTextPart(TypedDict):
    type: Literal["reasoning_text"]
    text: str


class OutputMessage(TypedDict):
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["assistant"]
    content: list[OutputTextPart | OutputRefusal]


class OutputFunctionCall(TypedDict):
    type: Literal["function_call"]
    id: str
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"]


class Reasoning(TypedDict):
    type: Literal["reasoning"]
    id: str
    summary: list[dict[str, Any]]
    content: NotRequired[list[ReasoningTextPart]]
    status: NotRequired[str]


class FileSearchResult(TypedDict):
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any]


class FileSearchCall(TypedDict):
    type: Literal["file_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[FileSearchResult] | None


class McpListedTool(TypedDict):
    name: str
    description: str | None
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None


class McpListTools(TypedDict):
    type: Literal["mcp_list_tools"]
    id: str
    server_label: str
    tools: list[McpListedTool]
    error: str | None


class McpCall(TypedDict):
    type: Literal["mcp_call"]
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None
    error: str | None
    status: NotRequired[str]
    approval_request_id: NotRequired[str | None]


class McpApprovalRequest(TypedDict):
    type: Literal["mcp_approval_request"]
    id: str
    server_label: str
    name: str
    arguments: str


OutputItem = (
    OutputMessage
    | OutputFunctionCall
    | Reasoning
    | FileSearchCall
    | McpListTools
    | McpCall
    | McpApprovalRequest
)


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens_details: dict[str, int]


class ResponseError(TypedDict):
    code: str
    message: str


class ResponseObject(TypedDict):
    id: str
    object: Literal["response"]
    created_at: int
    completed_at: int | None
    status: Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
    incomplete_details: dict[str, str] | None
    model: str
    previous_response_id: str | None
    instructions: str | None
    output: list[OutputItem]
    error: ResponseError | None
    tools: list[RunnableTool]  # as requested, without an mcp tool's `authorization`
    tool_choice: RunnableToolChoice
    truncation: Literal["auto", "disabled"]
    parallel_tool_calls: bool
    text: TextConfig
    top_p: float
    presence_penalty: float
    frequency_penalty: float
    top_logprobs: int
    temperature: float
    reasoning: ReasoningConfig | None
    usage: Usage | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    store: bool
    background: bool
    service_tier: Literal["auto", "default", "flex", "scale", "priority"]
    metadata: dict[str, str]
    safety_identifier: str | None
    prompt_cache_key: str | None
    prompt_cache_retention: Literal["in-memory", "24h"] | None
    user: str | None
    conversation: dict[str, str] | None


class ResponseList(TypedDict):
    object: Literal["list"]
    data: list[ResponseObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class InputItemList(TypedDict):
    object: Literal["list"]
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DeletedResponse(TypedDict):
    id: str
    object: Literal["response"]
    deleted: bool


class Compaction(TypedDict):
    type: Literal["compaction"]
    id: str
    encrypted_content: str


class CompactedResponse(TypedDict):
    id: str
    object: Literal["response.compaction"]
    created_at: int
    output: list[OutputMessage | Compaction]
    usage: Usage
