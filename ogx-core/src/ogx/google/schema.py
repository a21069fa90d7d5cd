"""The Google Interactions API's request body, tools and generation config (pydantic: parsed
once at the edge) and the `Interaction` resource, its usage and its stream events (TypedDicts:
built as plain dicts and written with orjson, like every other response)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from typing_extensions import TypedDict

from ogx.deferred import DeferredModel
from ogx.google.content import GoogleContent, SearchType

InteractionStatus = Literal[
    "in_progress", "requires_action", "completed", "failed", "cancelled", "incomplete"
]
ResponseModality = Literal["text", "image", "audio", "video", "document"]
ToolChoiceType = Literal["auto", "any", "none", "validated"]


class _Open(DeferredModel):
    model_config = ConfigDict(extra="allow")


class GoogleAllowedTools(_Open):
    mode: ToolChoiceType | None = None
    tools: list[str] | None = None


class GoogleToolChoiceConfig(_Open):
    allowed_tools: GoogleAllowedTools | None = None


class GoogleSpeechConfig(_Open):
    voice: str | None = None
    language: str | None = None
    speaker: str | None = None


class GoogleImageConfig(_Open):
    aspect_ratio: (
        Literal[
            "1:1",
            "2:3",
            "3:2",
            "3:4",
            "4:3",
            "4:5",
            "5:4",
            "9:16",
            "16:9",
            "21:9",
            "1:8",
            "8:1",
            "1:4",
            "4:1",
        ]
        | None
    ) = None
    image_size: Literal["1K", "2K", "4K", "512"] | None = None


class GoogleGenerationConfig(DeferredModel):
    # Google rejects unknown fields; so do we, naming them (a misspelt `temprature` is an error).
    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1, description="passed to backends that support it")
    seed: int | None = None
    stop_sequences: list[str] | None = None
    thinking_level: Literal["minimal", "low", "medium", "high"] | None = None
    thinking_summaries: Literal["auto", "none"] | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    speech_config: list[GoogleSpeechConfig] | None = None
    image_config: GoogleImageConfig | None = None
    tool_choice: ToolChoiceType | GoogleToolChoiceConfig | None = None


class GoogleFunction(_Open):
    type: Literal["function"]
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: Any = Field(default=None, description="JSON schema of the arguments")


class GoogleCodeExecution(_Open):
    type: Literal["code_execution"]


class GoogleUrlContext(_Open):
    type: Literal["url_context"]


class GoogleComputerUse(_Open):
    type: Literal["computer_use"]
    environment: Literal["browser"] | None = None
    excludedPredefinedFunctions: list[str] | None = None


class GoogleMcpServer(_Open):
    type: Literal["mcp_server"]
    name: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[GoogleAllowedTools] | None = None


class GoogleSearch(_Open):
    type: Literal["google_search"]
    search_types: list[SearchType] | None = None


class GoogleFileSearch(_Open):
    type: Literal["file_search"]
    file_search_store_names: list[str] | None = None
    top_k: int | None = None
    metadata_filter: str | None = None


class GoogleMaps(_Open):
    type: Literal["google_maps"]
    enable_widget: bool | None = None
    latitude: float | None = None
    longitude: float | None = None


class GoogleVertexAISearchConfig(_Open):
    engine: str | None = None
    datastores: list[str] | None = None


class GoogleRetrieval(_Open):
    type: Literal["retrieval"]
    retrieval_types: list[Literal["vertex_ai_search"]] | None = None
    vertex_ai_search_config: GoogleVertexAISearchConfig | None = None


GoogleTool = Annotated[
    GoogleFunction
    | GoogleCodeExecution
    | GoogleUrlContext
    | GoogleComputerUse
    | GoogleMcpServer
    | GoogleSearch
    | GoogleFileSearch
    | GoogleMaps
    | GoogleRetrieval,
    Field(discriminator="type"),
]


class GoogleTurn(DeferredModel):
    # No unknown fields: that is what tells a list of turns from a list of content blocks.
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, description="`user` or `model`")
    content: list[GoogleContent] | str | None = None


def _input_kind(value: Any) -> str | None:
    """Which form `input` takes, so a malformed one is reported against that form only."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict | BaseModel):
        return "content"
    if isinstance(value, list):
        first = value[0] if value else {"type": None}
        if isinstance(first, GoogleTurn) or (isinstance(first, dict) and "type" not in first):
            return "turns"
        return "contents"
    return None


InteractionsInput = Annotated[
    Annotated[list[GoogleContent], Tag("contents")]
    | Annotated[str, Tag("string")]
    | Annotated[list[GoogleTurn], Tag("turns")]
    | Annotated[GoogleContent, Tag("content")],
    Discriminator(
        _input_kind,
        custom_error_type="invalid_input",
        custom_error_message="must be a string, a content block, or a list of content blocks or of turns",
    ),
]


class CreateInteractionRequest(DeferredModel):
    """`POST /v1beta/interactions` with a model (Google's `CreateModelInteractionParams`)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    input: InteractionsInput
    system_instruction: str | None = None
    tools: list[GoogleTool] | None = None
    generation_config: GoogleGenerationConfig | None = None
    previous_interaction_id: str | None = None
    stream: bool | None = None
    store: bool | None = Field(
        default=None, description="default true: keep the interaction for GET and continuation"
    )
    background: bool | None = Field(default=None, description="run in the background; poll with GET")
    response_modalities: list[ResponseModality] | None = None
    response_format: Any = None
    response_mime_type: str | None = None
    service_tier: Literal["flex", "standard", "priority"] | None = None


# -- responses (TypedDicts) -------------------------------------------------------------------


class ModalityTokens(TypedDict):
    modality: ResponseModality
    tokens: int


class InteractionUsage(TypedDict, total=False):
    total_input_tokens: int
    input_tokens_by_modality: list[ModalityTokens]
    total_cached_tokens: int
    cached_tokens_by_modality: list[ModalityTokens]
    total_output_tokens: int
    output_tokens_by_modality: list[ModalityTokens]
    total_tool_use_tokens: int
    tool_use_tokens_by_modality: list[ModalityTokens]
    total_thought_tokens: int
    total_tokens: int


class Interaction(TypedDict):
    id: str
    object: NotRequired[Literal["interaction"]]
    model: NotRequired[str]
    status: InteractionStatus
    created: str
    updated: str
    role: NotRequired[str]
    outputs: NotRequired[list[GoogleContent]]
    system_instruction: NotRequired[str]
    tools: NotRequired[list[GoogleTool]]
    usage: NotRequired[InteractionUsage]
    response_modalities: NotRequired[list[ResponseModality]]
    response_format: NotRequired[Any]
    response_mime_type: NotRequired[str]
    previous_interaction_id: NotRequired[str]
    service_tier: NotRequired[Literal["flex", "standard", "priority"]]
    input: NotRequired[InteractionsInput]


class InteractionError(TypedDict):
    code: str
    message: str


class InteractionErrorBody(TypedDict):
    error: InteractionError
