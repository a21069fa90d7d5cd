"""The shapes the Responses API answers, as TypedDicts: they document `/openapi.json` (the
service builds plain dicts and never validates them per response)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from ogx.responses.schema import FileSearchTool, McpTool, ReasoningConfig, RunnableToolChoice, TextConfig


class TopLogProb(TypedDict):
    token: str
    logprob: float
    bytes: list[int]


class LogProb(TypedDict):
    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[TopLogProb]


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


class SummaryText(TypedDict):
    type: Literal["summary_text"]
    text: str


class Reasoning(TypedDict):
    type: Literal["reasoning"]
    id: str
    summary: list[SummaryText]
    content: NotRequired[list[ReasoningTextPart]]
    status: NotRequired[Literal["in_progress", "completed", "incomplete"]]


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
    status: NotRequired[Literal["in_progress", "completed", "incomplete", "calling", "failed"]]
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


class InputTokensDetails(TypedDict):
    cached_tokens: int


class OutputTokensDetails(TypedDict):
    reasoning_tokens: int


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens_details: OutputTokensDetails


class IncompleteDetails(TypedDict):
    reason: Literal["max_output_tokens", "content_filter"]


class ConversationId(TypedDict):
    id: str


class EchoedFunctionTool(TypedDict):
    type: Literal["function"]
    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool | None


class ResponseError(TypedDict):
    code: str
    message: str


class Compaction(TypedDict):
    type: Literal["compaction"]
    id: str
    encrypted_content: str


class ResponseObject(TypedDict):
    id: str
    object: Literal["response"]
    created_at: int
    completed_at: int | None
    status: Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
    incomplete_details: IncompleteDetails | None
    model: str
    previous_response_id: str | None
    instructions: str | None
    output: list[OutputItem]
    error: ResponseError | None
    tools: list[
        EchoedFunctionTool | FileSearchTool | McpTool
    ]  # as requested; an mcp tool without `authorization`, header values or URL credentials
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
    conversation: ConversationId | None


class ResponseList(TypedDict):
    object: Literal["list"]
    data: list[ResponseObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class InputTextPart(TypedDict):
    type: Literal["input_text"]
    text: str


class InputImagePart(TypedDict):
    type: Literal["input_image"]
    image_url: NotRequired[str]
    file_id: NotRequired[str]
    detail: Literal["auto", "low", "high", "original"]


class InputFilePart(TypedDict):
    type: Literal["input_file"]
    file_id: NotRequired[str]
    filename: NotRequired[str]
    file_data: NotRequired[str]
    file_url: NotRequired[str]


class InputMessage(TypedDict):
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["user", "system", "developer"]
    content: list[InputTextPart | InputImagePart | InputFilePart]


class FunctionCallOutput(TypedDict):
    type: Literal["function_call_output"]
    id: str
    call_id: str
    output: str | list[InputTextPart | InputImagePart | InputFilePart]
    status: Literal["in_progress", "completed", "incomplete"]


class McpApprovalResponse(TypedDict):
    type: Literal["mcp_approval_response"]
    id: str
    approval_request_id: str
    approve: bool
    reason: NotRequired[str]


class InputItemList(TypedDict):
    object: Literal["list"]
    data: list[InputMessage | OutputItem | FunctionCallOutput | McpApprovalResponse | Compaction]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DeletedResponse(TypedDict):
    id: str
    object: Literal["response"]
    deleted: bool


class CompactedResponse(TypedDict):
    id: str
    object: Literal["response.compaction"]
    created_at: int
    output: list[OutputMessage | Compaction]
    usage: Usage
