"""Content blocks of Anthropic's Messages API requests, every type `specs/anthropic-spec.json`
puts in a request, as pydantic models.

All of them are accepted; what becomes of each is the translation's business (`translate.py`):
a backend that speaks the Messages API gets them as sent, the translation to a chat call carries
what a chat model can read and refuses, with a 400 naming the block, what only Anthropic's own
servers can give meaning to (results of server tools, container uploads). An unknown `type` is
kept as `OtherBlockParam` for the same reason (beta features of Claude Code and the SDK)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from ogx.anthropic.types import (
    BashExecutionErrorCode,
    ExecutionErrorCode,
    ServerToolName,
    TextEditorErrorCode,
    WebFetchErrorCode,
    WebSearchErrorCode,
)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CacheControlEphemeralParam(_Open):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class _Block(_Open):
    # Accepted; a chat backend caches prompt prefixes on its own (llama.cpp, vLLM), unasked.
    cache_control: CacheControlEphemeralParam | None = None


# -- citations (history: what an earlier answer cited; the translation drops them) -------------


class _CitationParam(_Open):
    cited_text: str


class _DocumentCitationParam(_CitationParam):
    document_index: int = Field(ge=0)
    document_title: str | None


class CharLocationCitationParam(_DocumentCitationParam):
    type: Literal["char_location"]
    start_char_index: int = Field(ge=0)
    end_char_index: int


class PageLocationCitationParam(_DocumentCitationParam):
    type: Literal["page_location"]
    start_page_number: int = Field(ge=1)
    end_page_number: int


class ContentBlockLocationCitationParam(_DocumentCitationParam):
    type: Literal["content_block_location"]
    start_block_index: int = Field(ge=0)
    end_block_index: int


class WebSearchResultLocationCitationParam(_CitationParam):
    type: Literal["web_search_result_location"]
    encrypted_index: str
    title: str | None
    url: str


class SearchResultLocationCitationParam(_CitationParam):
    type: Literal["search_result_location"]
    search_result_index: int = Field(ge=0)
    source: str
    title: str | None
    start_block_index: int = Field(ge=0)
    end_block_index: int


TextCitationParam = Annotated[
    CharLocationCitationParam
    | PageLocationCitationParam
    | ContentBlockLocationCitationParam
    | WebSearchResultLocationCitationParam
    | SearchResultLocationCitationParam,
    Field(discriminator="type"),
]


class CitationsConfigParam(_Open):
    # Accepted; a translated answer has no citations (its text blocks say `citations: null`).
    enabled: bool | None = None


# -- text, images, documents, search results ----------------------------------------------------


class TextBlockParam(_Block):
    type: Literal["text"]
    text: str
    citations: list[TextCitationParam] | None = None


class Base64ImageSourceParam(_Open):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str


class URLImageSourceParam(_Open):
    type: Literal["url"]
    url: str = Field(min_length=1)


class ImageBlockParam(_Block):
    type: Literal["image"]
    source: Annotated[Base64ImageSourceParam | URLImageSourceParam, Field(discriminator="type")]


class Base64PDFSourceParam(_Open):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: str


class PlainTextSourceParam(_Open):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: str


class ContentBlockSourceParam(_Open):
    type: Literal["content"]
    content: str | list[Annotated[TextBlockParam | ImageBlockParam, Field(discriminator="type")]]


class URLPDFSourceParam(_Open):
    type: Literal["url"]
    url: str = Field(min_length=1)


class DocumentBlockParam(_Block):
    type: Literal["document"]
    source: Annotated[
        Base64PDFSourceParam | PlainTextSourceParam | ContentBlockSourceParam | URLPDFSourceParam,
        Field(discriminator="type"),
    ]
    title: str | None = None
    context: str | None = None
    citations: CitationsConfigParam | None = None


class SearchResultBlockParam(_Block):
    type: Literal["search_result"]
    source: str
    title: str
    content: list[TextBlockParam]
    citations: CitationsConfigParam | None = None


# -- thinking -----------------------------------------------------------------------------------


class ThinkingBlockParam(_Open):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlockParam(_Open):
    type: Literal["redacted_thinking"]
    data: str


# -- tool calls and results ---------------------------------------------------------------------


class DirectCallerParam(_Open):
    type: Literal["direct"]


class ServerToolCallerParam(_Open):
    """The tool was called from code that Anthropic's code execution tool ran."""

    type: Literal["code_execution_20250825"]
    tool_id: str


class ServerToolCaller20260120Param(_Open):
    type: Literal["code_execution_20260120"]
    tool_id: str


CallerParam = Annotated[
    DirectCallerParam | ServerToolCallerParam | ServerToolCaller20260120Param, Field(discriminator="type")
]


class ToolUseBlockParam(_Block):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]
    caller: CallerParam | None = None


class ToolReferenceBlockParam(_Block):
    type: Literal["tool_reference"]
    tool_name: str = Field(min_length=1)


ToolResultContentParam = Annotated[
    TextBlockParam | ImageBlockParam | SearchResultBlockParam | DocumentBlockParam | ToolReferenceBlockParam,
    Field(discriminator="type"),
]


class ToolResultBlockParam(_Block):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[ToolResultContentParam] | None = None
    is_error: bool | None = None


class ServerToolUseBlockParam(_Block):
    type: Literal["server_tool_use"]
    id: str = Field(min_length=1)
    name: ServerToolName
    input: dict[str, Any]
    caller: CallerParam | None = None


class WebSearchResultBlockParam(_Open):
    type: Literal["web_search_result"]
    encrypted_content: str
    title: str
    url: str
    page_age: str | None = None


class WebSearchToolResultErrorParam(_Open):
    type: Literal["web_search_tool_result_error"]
    error_code: WebSearchErrorCode


class WebSearchToolResultBlockParam(_Block):
    type: Literal["web_search_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: list[WebSearchResultBlockParam] | WebSearchToolResultErrorParam
    caller: CallerParam | None = None


class WebFetchToolResultErrorParam(_Open):
    type: Literal["web_fetch_tool_result_error"]
    error_code: WebFetchErrorCode


class WebFetchResultBlockParam(_Open):
    type: Literal["web_fetch_result"]
    url: str
    content: DocumentBlockParam
    retrieved_at: str | None = None


class WebFetchToolResultBlockParam(_Block):
    type: Literal["web_fetch_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Annotated[WebFetchToolResultErrorParam | WebFetchResultBlockParam, Field(discriminator="type")]
    caller: CallerParam | None = None


class CodeExecutionToolResultErrorParam(_Open):
    type: Literal["code_execution_tool_result_error"]
    error_code: ExecutionErrorCode


class CodeExecutionOutputBlockParam(_Open):
    type: Literal["code_execution_output"]
    file_id: str


class CodeExecutionResultBlockParam(_Open):
    type: Literal["code_execution_result"]
    content: list[CodeExecutionOutputBlockParam]
    return_code: int
    stderr: str
    stdout: str


class EncryptedCodeExecutionResultBlockParam(_Open):
    type: Literal["encrypted_code_execution_result"]
    content: list[CodeExecutionOutputBlockParam]
    encrypted_stdout: str
    return_code: int
    stderr: str


class CodeExecutionToolResultBlockParam(_Block):
    type: Literal["code_execution_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Annotated[
        CodeExecutionToolResultErrorParam
        | CodeExecutionResultBlockParam
        | EncryptedCodeExecutionResultBlockParam,
        Field(discriminator="type"),
    ]


class BashCodeExecutionToolResultErrorParam(_Open):
    type: Literal["bash_code_execution_tool_result_error"]
    error_code: BashExecutionErrorCode


class BashCodeExecutionOutputBlockParam(_Open):
    type: Literal["bash_code_execution_output"]
    file_id: str


class BashCodeExecutionResultBlockParam(_Open):
    type: Literal["bash_code_execution_result"]
    content: list[BashCodeExecutionOutputBlockParam]
    return_code: int
    stderr: str
    stdout: str


class BashCodeExecutionToolResultBlockParam(_Block):
    type: Literal["bash_code_execution_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Annotated[
        BashCodeExecutionToolResultErrorParam | BashCodeExecutionResultBlockParam, Field(discriminator="type")
    ]


class TextEditorCodeExecutionToolResultErrorParam(_Open):
    type: Literal["text_editor_code_execution_tool_result_error"]
    error_code: TextEditorErrorCode
    error_message: str | None = None


class TextEditorCodeExecutionViewResultBlockParam(_Open):
    type: Literal["text_editor_code_execution_view_result"]
    content: str
    file_type: Literal["text", "image", "pdf"]
    num_lines: int | None = None
    start_line: int | None = None
    total_lines: int | None = None


class TextEditorCodeExecutionCreateResultBlockParam(_Open):
    type: Literal["text_editor_code_execution_create_result"]
    is_file_update: bool


class TextEditorCodeExecutionStrReplaceResultBlockParam(_Open):
    type: Literal["text_editor_code_execution_str_replace_result"]
    lines: list[str] | None = None
    new_lines: int | None = None
    new_start: int | None = None
    old_lines: int | None = None
    old_start: int | None = None


class TextEditorCodeExecutionToolResultBlockParam(_Block):
    type: Literal["text_editor_code_execution_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Annotated[
        TextEditorCodeExecutionToolResultErrorParam
        | TextEditorCodeExecutionViewResultBlockParam
        | TextEditorCodeExecutionCreateResultBlockParam
        | TextEditorCodeExecutionStrReplaceResultBlockParam,
        Field(discriminator="type"),
    ]


class ToolSearchToolResultErrorParam(_Open):
    type: Literal["tool_search_tool_result_error"]
    error_code: ExecutionErrorCode


class ToolSearchToolSearchResultBlockParam(_Open):
    type: Literal["tool_search_tool_search_result"]
    tool_references: list[ToolReferenceBlockParam]


class ToolSearchToolResultBlockParam(_Block):
    type: Literal["tool_search_tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: Annotated[
        ToolSearchToolResultErrorParam | ToolSearchToolSearchResultBlockParam, Field(discriminator="type")
    ]


class ContainerUploadBlockParam(_Block):
    type: Literal["container_upload"]
    file_id: str


class OtherBlockParam(_Block):
    """A block type this server does not know (a beta feature): relayed to a native backend."""

    type: str


_BLOCKS: dict[str, type[BaseModel]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        TextBlockParam,
        ImageBlockParam,
        DocumentBlockParam,
        SearchResultBlockParam,
        ThinkingBlockParam,
        RedactedThinkingBlockParam,
        ToolUseBlockParam,
        ToolResultBlockParam,
        ServerToolUseBlockParam,
        WebSearchToolResultBlockParam,
        WebFetchToolResultBlockParam,
        CodeExecutionToolResultBlockParam,
        BashCodeExecutionToolResultBlockParam,
        TextEditorCodeExecutionToolResultBlockParam,
        ToolSearchToolResultBlockParam,
        ContainerUploadBlockParam,
    )
}


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _BLOCKS else "other"


ContentBlockParam = Annotated[
    Annotated[TextBlockParam, Tag("text")]
    | Annotated[ImageBlockParam, Tag("image")]
    | Annotated[DocumentBlockParam, Tag("document")]
    | Annotated[SearchResultBlockParam, Tag("search_result")]
    | Annotated[ThinkingBlockParam, Tag("thinking")]
    | Annotated[RedactedThinkingBlockParam, Tag("redacted_thinking")]
    | Annotated[ToolUseBlockParam, Tag("tool_use")]
    | Annotated[ToolResultBlockParam, Tag("tool_result")]
    | Annotated[ServerToolUseBlockParam, Tag("server_tool_use")]
    | Annotated[WebSearchToolResultBlockParam, Tag("web_search_tool_result")]
    | Annotated[WebFetchToolResultBlockParam, Tag("web_fetch_tool_result")]
    | Annotated[CodeExecutionToolResultBlockParam, Tag("code_execution_tool_result")]
    | Annotated[BashCodeExecutionToolResultBlockParam, Tag("bash_code_execution_tool_result")]
    | Annotated[TextEditorCodeExecutionToolResultBlockParam, Tag("text_editor_code_execution_tool_result")]
    | Annotated[ToolSearchToolResultBlockParam, Tag("tool_search_tool_result")]
    | Annotated[ContainerUploadBlockParam, Tag("container_upload")]
    | Annotated[OtherBlockParam, Tag("other")],
    Discriminator(_block_tag),
]

# Blocks that only Anthropic's servers produce or consume (their tools' calls and results):
# relayed to a native backend, refused by the translation.
SERVER_BLOCKS = (
    ServerToolUseBlockParam,
    WebSearchToolResultBlockParam,
    WebFetchToolResultBlockParam,
    CodeExecutionToolResultBlockParam,
    BashCodeExecutionToolResultBlockParam,
    TextEditorCodeExecutionToolResultBlockParam,
    ToolSearchToolResultBlockParam,
    ContainerUploadBlockParam,
)
