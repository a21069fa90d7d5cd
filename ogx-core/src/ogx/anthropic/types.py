"""Response shapes of the Messages API as TypedDicts: the translation builds plain dicts (written
with orjson, never validated per response), these give them types and the OpenAPI document.

They describe every block of `specs/anthropic-spec.json`'s `Message`: the translation produces
`text`, `thinking` and `tool_use`; a backend that speaks the Messages API natively may send the
others (its server tools' calls and results), and they are relayed as sent."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

ServerToolName = Literal[
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
    "tool_search_tool_regex",
    "tool_search_tool_bm25",
]
WebSearchErrorCode = Literal[
    "invalid_tool_input",
    "unavailable",
    "max_uses_exceeded",
    "too_many_requests",
    "query_too_long",
    "request_too_large",
]
WebFetchErrorCode = Literal[
    "invalid_tool_input",
    "url_too_long",
    "url_not_allowed",
    "url_not_accessible",
    "unsupported_content_type",
    "too_many_requests",
    "max_uses_exceeded",
    "unavailable",
]
ExecutionErrorCode = Literal[
    "invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded"
]
BashExecutionErrorCode = Literal[
    "invalid_tool_input",
    "unavailable",
    "too_many_requests",
    "execution_time_exceeded",
    "output_file_too_large",
]
TextEditorErrorCode = Literal[
    "invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded", "file_not_found"
]
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class AnthropicCacheCreation(TypedDict):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class ServerToolUsage(TypedDict):
    web_fetch_requests: int
    web_search_requests: int


class OutputTokensDetails(TypedDict):
    thinking_tokens: int  # the backend's reasoning tokens (0 when it reports none)


class AnthropicUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    cache_creation: AnthropicCacheCreation | None
    output_tokens_details: OutputTokensDetails | None  # newer than our copy of the spec
    server_tool_use: ServerToolUsage | None
    service_tier: Literal["standard", "priority", "batch"] | None
    inference_geo: str | None
    estimated: NotRequired[bool]  # OGX: the backend reported no usage; counted from the stream


# -- citations ------------------------------------------------------------------------------------


class CharLocationCitation(TypedDict):
    type: Literal["char_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    file_id: str | None
    start_char_index: int
    end_char_index: int


class PageLocationCitation(TypedDict):
    type: Literal["page_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    file_id: str | None
    start_page_number: int
    end_page_number: int


class ContentBlockLocationCitation(TypedDict):
    type: Literal["content_block_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    file_id: str | None
    start_block_index: int
    end_block_index: int


class WebSearchResultLocationCitation(TypedDict):
    type: Literal["web_search_result_location"]
    cited_text: str
    encrypted_index: str
    title: str | None
    url: str


class SearchResultLocationCitation(TypedDict):
    type: Literal["search_result_location"]
    cited_text: str
    search_result_index: int
    source: str
    title: str | None
    start_block_index: int
    end_block_index: int


TextCitation = (
    CharLocationCitation
    | PageLocationCitation
    | ContentBlockLocationCitation
    | WebSearchResultLocationCitation
    | SearchResultLocationCitation
)


# -- content blocks: the translation makes text, thinking and tool_use; a native backend may ---
# -- send any of them (its server tools' calls and results), relayed as sent -------------------


class ResponseTextBlock(TypedDict):
    type: Literal["text"]
    text: str
    citations: list[TextCitation] | None


class ResponseThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class ResponseRedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


class DirectCaller(TypedDict):
    type: Literal["direct"]


class ServerToolCaller(TypedDict):
    type: Literal["code_execution_20250825"]
    tool_id: str


class ServerToolCaller20260120(TypedDict):
    type: Literal["code_execution_20260120"]
    tool_id: str


Caller = DirectCaller | ServerToolCaller | ServerToolCaller20260120


class ResponseToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    caller: Caller


class ResponseServerToolUseBlock(TypedDict):
    type: Literal["server_tool_use"]
    id: str
    name: ServerToolName
    input: dict[str, Any]
    caller: Caller


class WebSearchResult(TypedDict):
    type: Literal["web_search_result"]
    encrypted_content: str
    page_age: str | None
    title: str
    url: str


class WebSearchToolResultError(TypedDict):
    type: Literal["web_search_tool_result_error"]
    error_code: WebSearchErrorCode


class ResponseWebSearchToolResultBlock(TypedDict):
    type: Literal["web_search_tool_result"]
    tool_use_id: str
    content: WebSearchToolResultError | list[WebSearchResult]
    caller: Caller


class Base64PDFSource(TypedDict):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: str


class PlainTextSource(TypedDict):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: str


class CitationsConfig(TypedDict):
    enabled: bool


class ResponseDocumentBlock(TypedDict):
    type: Literal["document"]
    citations: CitationsConfig | None
    source: Base64PDFSource | PlainTextSource
    title: str | None


class WebFetchResult(TypedDict):
    type: Literal["web_fetch_result"]
    content: ResponseDocumentBlock
    retrieved_at: str | None
    url: str


class WebFetchToolResultError(TypedDict):
    type: Literal["web_fetch_tool_result_error"]
    error_code: WebFetchErrorCode


class ResponseWebFetchToolResultBlock(TypedDict):
    type: Literal["web_fetch_tool_result"]
    tool_use_id: str
    content: WebFetchToolResultError | WebFetchResult
    caller: Caller


class CodeExecutionToolResultError(TypedDict):
    type: Literal["code_execution_tool_result_error"]
    error_code: ExecutionErrorCode


class CodeExecutionOutput(TypedDict):
    type: Literal["code_execution_output"]
    file_id: str


class CodeExecutionResult(TypedDict):
    type: Literal["code_execution_result"]
    content: list[CodeExecutionOutput]
    return_code: int
    stderr: str
    stdout: str


class EncryptedCodeExecutionResult(TypedDict):
    type: Literal["encrypted_code_execution_result"]
    content: list[CodeExecutionOutput]
    encrypted_stdout: str
    return_code: int
    stderr: str


class ResponseCodeExecutionToolResultBlock(TypedDict):
    type: Literal["code_execution_tool_result"]
    tool_use_id: str
    content: CodeExecutionToolResultError | CodeExecutionResult | EncryptedCodeExecutionResult


class BashCodeExecutionToolResultError(TypedDict):
    type: Literal["bash_code_execution_tool_result_error"]
    error_code: BashExecutionErrorCode


class BashCodeExecutionOutput(TypedDict):
    type: Literal["bash_code_execution_output"]
    file_id: str


class BashCodeExecutionResult(TypedDict):
    type: Literal["bash_code_execution_result"]
    content: list[BashCodeExecutionOutput]
    return_code: int
    stderr: str
    stdout: str


class ResponseBashCodeExecutionToolResultBlock(TypedDict):
    type: Literal["bash_code_execution_tool_result"]
    tool_use_id: str
    content: BashCodeExecutionToolResultError | BashCodeExecutionResult


class TextEditorCodeExecutionToolResultError(TypedDict):
    type: Literal["text_editor_code_execution_tool_result_error"]
    error_code: TextEditorErrorCode
    error_message: str | None


class TextEditorCodeExecutionViewResult(TypedDict):
    type: Literal["text_editor_code_execution_view_result"]
    content: str
    file_type: Literal["text", "image", "pdf"]
    num_lines: int | None
    start_line: int | None
    total_lines: int | None


class TextEditorCodeExecutionCreateResult(TypedDict):
    type: Literal["text_editor_code_execution_create_result"]
    is_file_update: bool


class TextEditorCodeExecutionStrReplaceResult(TypedDict):
    type: Literal["text_editor_code_execution_str_replace_result"]
    lines: list[str] | None
    new_lines: int | None
    new_start: int | None
    old_lines: int | None
    old_start: int | None


class ResponseTextEditorCodeExecutionToolResultBlock(TypedDict):
    type: Literal["text_editor_code_execution_tool_result"]
    tool_use_id: str
    content: (
        TextEditorCodeExecutionToolResultError
        | TextEditorCodeExecutionViewResult
        | TextEditorCodeExecutionCreateResult
        | TextEditorCodeExecutionStrReplaceResult
    )


class ToolReference(TypedDict):
    type: Literal["tool_reference"]
    tool_name: str


class ToolSearchToolResultError(TypedDict):
    type: Literal["tool_search_tool_result_error"]
    error_code: ExecutionErrorCode
    error_message: str | None


class ToolSearchToolSearchResult(TypedDict):
    type: Literal["tool_search_tool_search_result"]
    tool_references: list[ToolReference]


class ResponseToolSearchToolResultBlock(TypedDict):
    type: Literal["tool_search_tool_result"]
    tool_use_id: str
    content: ToolSearchToolResultError | ToolSearchToolSearchResult


class ResponseContainerUploadBlock(TypedDict):
    type: Literal["container_upload"]
    file_id: str


ResponseContentBlock = (
    ResponseTextBlock
    | ResponseThinkingBlock
    | ResponseRedactedThinkingBlock
    | ResponseToolUseBlock
    | ResponseServerToolUseBlock
    | ResponseWebSearchToolResultBlock
    | ResponseWebFetchToolResultBlock
    | ResponseCodeExecutionToolResultBlock
    | ResponseBashCodeExecutionToolResultBlock
    | ResponseTextEditorCodeExecutionToolResultBlock
    | ResponseToolSearchToolResultBlock
    | ResponseContainerUploadBlock
)


class RefusalStopDetails(TypedDict):
    type: Literal["refusal"]
    category: Literal["cyber", "bio"] | None
    explanation: str | None


class Container(TypedDict):
    """Code execution's container (native backends only)."""

    id: str
    expires_at: str


class AnthropicMessage(TypedDict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[ResponseContentBlock]
    model: str
    stop_reason: StopReason | None
    stop_sequence: str | None
    stop_details: RefusalStopDetails | None
    usage: AnthropicUsage
    container: Container | None


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
