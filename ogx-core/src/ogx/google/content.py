"""Content blocks of the Google Interactions API (`Content` in Google's specification), as
pydantic models: they validate requests and document requests and responses.

Class names carry a `Google` prefix because every documented model shares one OpenAPI
components namespace with the other API families (`Tool`, `Usage`, `AllowedTools`, … exist
there too)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ogx.deferred import DeferredModel

MediaResolution = Literal["low", "medium", "high", "ultra_high"]
ImageMimeType = Literal[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/bmp",
    "image/tiff",
]
AudioMimeType = Literal[
    "audio/wav",
    "audio/mp3",
    "audio/aiff",
    "audio/aac",
    "audio/ogg",
    "audio/flac",
    "audio/mpeg",
    "audio/m4a",
    "audio/l16",
]
VideoMimeType = Literal[
    "video/mp4",
    "video/mpeg",
    "video/mpg",
    "video/mov",
    "video/avi",
    "video/x-flv",
    "video/webm",
    "video/wmv",
    "video/3gpp",
]
SearchType = Literal["web_search", "image_search", "enterprise_web_search"]


class _Block(DeferredModel):
    # Blocks a newer client sends with fields we don't know yet still parse.
    model_config = ConfigDict(extra="allow")


class GoogleReviewSnippet(_Block):
    title: str | None = None
    url: str | None = None
    review_id: str | None = None


class GoogleUrlCitation(_Block):
    type: Literal["url_citation"]
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class GoogleFileCitation(_Block):
    type: Literal["file_citation"]
    document_uri: str | None = None
    file_name: str | None = None
    source: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class GooglePlaceCitation(_Block):
    type: Literal["place_citation"]
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[GoogleReviewSnippet] | None = None
    start_index: int | None = None
    end_index: int | None = None


GoogleAnnotation = Annotated[
    GoogleUrlCitation | GoogleFileCitation | GooglePlaceCitation, Field(discriminator="type")
]


class GoogleTextContent(_Block):
    type: Literal["text"]
    text: str
    annotations: list[GoogleAnnotation] | None = None


class GoogleImageContent(_Block):
    type: Literal["image"]
    data: str | None = Field(default=None, description="base64-encoded image bytes")
    uri: str | None = None
    mime_type: ImageMimeType | None = None
    resolution: MediaResolution | None = None


class GoogleAudioContent(_Block):
    type: Literal["audio"]
    data: str | None = Field(default=None, description="base64-encoded audio bytes")
    uri: str | None = None
    mime_type: AudioMimeType | None = None
    rate: int | None = None
    channels: int | None = None


class GoogleDocumentContent(_Block):
    type: Literal["document"]
    data: str | None = Field(default=None, description="base64-encoded document bytes")
    uri: str | None = None
    mime_type: Literal["application/pdf"] | None = None


class GoogleVideoContent(_Block):
    type: Literal["video"]
    data: str | None = Field(default=None, description="base64-encoded video bytes")
    uri: str | None = None
    mime_type: VideoMimeType | None = None
    resolution: MediaResolution | None = None


GoogleThoughtSummaryContent = Annotated[GoogleTextContent | GoogleImageContent, Field(discriminator="type")]


class GoogleThoughtContent(_Block):
    type: Literal["thought"]
    signature: str | None = None
    summary: list[GoogleThoughtSummaryContent] | None = None


class GoogleFunctionCallContent(_Block):
    type: Literal["function_call"]
    name: str = Field(min_length=1)
    arguments: dict[str, Any]
    id: str = Field(min_length=1)
    signature: str | None = None


FunctionResult = dict[str, Any] | list[GoogleThoughtSummaryContent] | str


class GoogleFunctionResultContent(_Block):
    type: Literal["function_result"]
    name: str | None = None
    is_error: bool | None = None
    call_id: str = Field(min_length=1)
    signature: str | None = None
    result: FunctionResult


# Built-in tools run by Google's servers. OGX parses them (a valid request gets a clear error,
# not a schema complaint) and documents them, but cannot run them.


class GoogleCodeExecutionCallArguments(_Block):
    language: Literal["python"] | None = None
    code: str | None = None


class GoogleUrlContextCallArguments(_Block):
    urls: list[str] | None = None


class GoogleSearchCallArguments(_Block):
    queries: list[str] | None = None


class GoogleMapsCallArguments(_Block):
    queries: list[str] | None = None


class GoogleCodeExecutionCallContent(_Block):
    type: Literal["code_execution_call"]
    arguments: GoogleCodeExecutionCallArguments
    id: str
    signature: str | None = None


class GoogleUrlContextCallContent(_Block):
    type: Literal["url_context_call"]
    arguments: GoogleUrlContextCallArguments
    id: str
    signature: str | None = None


class GoogleMcpServerToolCallContent(_Block):
    type: Literal["mcp_server_tool_call"]
    name: str
    server_name: str
    arguments: dict[str, Any]
    id: str
    signature: str | None = None


class GoogleSearchCallContent(_Block):
    type: Literal["google_search_call"]
    arguments: GoogleSearchCallArguments
    search_type: SearchType | None = None
    id: str
    signature: str | None = None


class GoogleFileSearchCallContent(_Block):
    type: Literal["file_search_call"]
    id: str
    signature: str | None = None


class GoogleMapsCallContent(_Block):
    type: Literal["google_maps_call"]
    arguments: GoogleMapsCallArguments | None = None
    id: str
    signature: str | None = None


class GoogleCodeExecutionResultContent(_Block):
    type: Literal["code_execution_result"]
    result: str
    is_error: bool | None = None
    call_id: str
    signature: str | None = None


class GoogleUrlContextResult(_Block):
    url: str | None = None
    status: Literal["success", "error", "paywall", "unsafe"] | None = None


class GoogleUrlContextResultContent(_Block):
    type: Literal["url_context_result"]
    result: list[GoogleUrlContextResult]
    is_error: bool | None = None
    call_id: str
    signature: str | None = None


class GoogleSearchResult(_Block):
    search_suggestions: str | None = None


class GoogleSearchResultContent(_Block):
    type: Literal["google_search_result"]
    result: list[GoogleSearchResult]
    is_error: bool | None = None
    call_id: str
    signature: str | None = None


class GoogleMcpServerToolResultContent(_Block):
    type: Literal["mcp_server_tool_result"]
    name: str | None = None
    server_name: str | None = None
    call_id: str
    signature: str | None = None
    result: FunctionResult


class GoogleFileSearchResult(_Block):
    custom_metadata: list[dict[str, Any]] | None = None


class GoogleFileSearchResultContent(_Block):
    type: Literal["file_search_result"]
    result: list[GoogleFileSearchResult]
    call_id: str
    signature: str | None = None


class GooglePlace(_Block):
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[GoogleReviewSnippet] | None = None


class GoogleMapsResult(_Block):
    places: list[GooglePlace] | None = None
    widget_context_token: str | None = None


class GoogleMapsResultContent(_Block):
    type: Literal["google_maps_result"]
    result: list[GoogleMapsResult]
    call_id: str
    signature: str | None = None


GoogleContent = Annotated[
    GoogleTextContent
    | GoogleImageContent
    | GoogleAudioContent
    | GoogleDocumentContent
    | GoogleVideoContent
    | GoogleThoughtContent
    | GoogleFunctionCallContent
    | GoogleCodeExecutionCallContent
    | GoogleUrlContextCallContent
    | GoogleMcpServerToolCallContent
    | GoogleSearchCallContent
    | GoogleFileSearchCallContent
    | GoogleMapsCallContent
    | GoogleFunctionResultContent
    | GoogleCodeExecutionResultContent
    | GoogleUrlContextResultContent
    | GoogleSearchResultContent
    | GoogleMcpServerToolResultContent
    | GoogleFileSearchResultContent
    | GoogleMapsResultContent,
    Field(discriminator="type"),
]

# Content types the translation to chat completions understands; the rest are Google's built-in
# tools' calls and results.
TRANSLATABLE = frozenset(
    {"text", "image", "audio", "document", "thought", "function_call", "function_result"}
)
