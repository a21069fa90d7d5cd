"""Request bodies of Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`) as
pydantic models, validated once at the edge. Shapes follow `specs/anthropic-spec.json`: content
blocks are in `blocks.py`, tools and the request itself here.

Every tool type of the spec is accepted. Anthropic's client-executed tools (bash, the text
editors, memory) have fixed input schemas, so the translation offers them to a chat model as
function tools; its server-executed tools (code execution, web search and fetch, tool search)
are relayed to a native backend and refused by the translation. Unknown fields and tool types
are kept for a native backend (Claude Code and the SDK's beta features send them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from ogx.anthropic.blocks import (
    CacheControlEphemeralParam,
    CitationsConfigParam,
    ContentBlockParam,
    TextBlockParam,
)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class MessageParam(_Open):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


AllowedCaller = Literal["direct", "code_execution_20250825", "code_execution_20260120"]


class InputSchemaParam(_Open):
    """A JSON schema of an object (any other JSON-schema keyword is kept)."""

    type: Literal["object"]
    properties: dict[str, Any] | None = None
    required: list[str] | None = None


class _ToolOptions(_Open):
    cache_control: CacheControlEphemeralParam | None = None  # accepted, as for blocks
    strict: bool | None = None
    allowed_callers: list[AllowedCaller] | None = None
    defer_loading: bool | None = None


class ToolParam(_ToolOptions):
    """A client tool (`type` absent or `custom`): the model may call it by name."""

    type: Literal["custom"] | None = None
    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: InputSchemaParam
    eager_input_streaming: bool | None = None  # tool input always streams as the model writes it
    input_examples: list[dict[str, Any]] | None = None

    @field_validator("input_schema", mode="before")
    @classmethod
    def _object_schema(cls, value: Any) -> Any:
        if not isinstance(value, dict) or value.get("type") != "object":
            raise ValueError('must be a JSON schema with "type": "object"')
        return value


# Anthropic-defined tools that the client runs: fixed names and input schemas (translate.py).


class BashTool20250124Param(_ToolOptions):
    type: Literal["bash_20250124"]
    name: Literal["bash"]
    input_examples: list[dict[str, Any]] | None = None


class MemoryTool20250818Param(_ToolOptions):
    type: Literal["memory_20250818"]
    name: Literal["memory"]
    input_examples: list[dict[str, Any]] | None = None


class TextEditor20250124Param(_ToolOptions):
    type: Literal["text_editor_20250124"]
    name: Literal["str_replace_editor"]
    input_examples: list[dict[str, Any]] | None = None


class TextEditor20250429Param(_ToolOptions):
    type: Literal["text_editor_20250429"]
    name: Literal["str_replace_based_edit_tool"]
    input_examples: list[dict[str, Any]] | None = None


class TextEditor20250728Param(_ToolOptions):
    type: Literal["text_editor_20250728"]
    name: Literal["str_replace_based_edit_tool"]
    input_examples: list[dict[str, Any]] | None = None
    max_characters: int | None = Field(default=None, ge=1)


# Anthropic-defined tools that Anthropic's servers run.


class CodeExecutionTool20250522Param(_ToolOptions):
    type: Literal["code_execution_20250522"]
    name: Literal["code_execution"]


class CodeExecutionTool20250825Param(_ToolOptions):
    type: Literal["code_execution_20250825"]
    name: Literal["code_execution"]


class CodeExecutionTool20260120Param(_ToolOptions):
    type: Literal["code_execution_20260120"]
    name: Literal["code_execution"]


class UserLocationParam(_Open):
    type: Literal["approximate"]
    city: str | None = None
    country: str | None = None
    region: str | None = None
    timezone: str | None = None


class _DomainRules(_ToolOptions):
    allowed_domains: list[str] | None = None
    blocked_domains: list[str] | None = None
    max_uses: int | None = Field(default=None, ge=0)


class WebSearchTool20250305Param(_DomainRules):
    type: Literal["web_search_20250305"]
    name: Literal["web_search"]
    user_location: UserLocationParam | None = None


class WebSearchTool20260209Param(_DomainRules):
    type: Literal["web_search_20260209"]
    name: Literal["web_search"]
    user_location: UserLocationParam | None = None


class _WebFetch(_DomainRules):
    citations: CitationsConfigParam | None = None
    max_content_tokens: int | None = Field(default=None, ge=0)


class WebFetchTool20250910Param(_WebFetch):
    type: Literal["web_fetch_20250910"]
    name: Literal["web_fetch"]


class WebFetchTool20260209Param(_WebFetch):
    type: Literal["web_fetch_20260209"]
    name: Literal["web_fetch"]


class WebFetchTool20260309Param(_WebFetch):
    type: Literal["web_fetch_20260309"]
    name: Literal["web_fetch"]
    use_cache: bool | None = None


class ToolSearchToolBm25Param(_ToolOptions):
    type: Literal["tool_search_tool_bm25_20251119", "tool_search_tool_bm25"]
    name: Literal["tool_search_tool_bm25"]


class ToolSearchToolRegexParam(_ToolOptions):
    type: Literal["tool_search_tool_regex_20251119", "tool_search_tool_regex"]
    name: Literal["tool_search_tool_regex"]


class OtherToolParam(_Open):
    """A tool type this server does not know (a beta feature): relayed to a native backend."""

    type: str
    name: str


CLIENT_TOOLS = (
    BashTool20250124Param,
    MemoryTool20250818Param,
    TextEditor20250124Param,
    TextEditor20250429Param,
    TextEditor20250728Param,
)
SERVER_TOOLS = (
    CodeExecutionTool20250522Param,
    CodeExecutionTool20250825Param,
    CodeExecutionTool20260120Param,
    WebSearchTool20250305Param,
    WebSearchTool20260209Param,
    WebFetchTool20250910Param,
    WebFetchTool20260209Param,
    WebFetchTool20260309Param,
    ToolSearchToolBm25Param,
    ToolSearchToolRegexParam,
)
_TOOLS: dict[str, str] = {
    kind: cls.__name__
    for cls in (*CLIENT_TOOLS, *SERVER_TOOLS)
    for kind in cls.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
}


def _tool_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind in (None, "custom"):
        return "ToolParam"
    return _TOOLS.get(kind, "OtherToolParam")


AnyToolParam = Annotated[
    Annotated[ToolParam, Tag("ToolParam")]
    | Annotated[BashTool20250124Param, Tag("BashTool20250124Param")]
    | Annotated[MemoryTool20250818Param, Tag("MemoryTool20250818Param")]
    | Annotated[TextEditor20250124Param, Tag("TextEditor20250124Param")]
    | Annotated[TextEditor20250429Param, Tag("TextEditor20250429Param")]
    | Annotated[TextEditor20250728Param, Tag("TextEditor20250728Param")]
    | Annotated[CodeExecutionTool20250522Param, Tag("CodeExecutionTool20250522Param")]
    | Annotated[CodeExecutionTool20250825Param, Tag("CodeExecutionTool20250825Param")]
    | Annotated[CodeExecutionTool20260120Param, Tag("CodeExecutionTool20260120Param")]
    | Annotated[WebSearchTool20250305Param, Tag("WebSearchTool20250305Param")]
    | Annotated[WebSearchTool20260209Param, Tag("WebSearchTool20260209Param")]
    | Annotated[WebFetchTool20250910Param, Tag("WebFetchTool20250910Param")]
    | Annotated[WebFetchTool20260209Param, Tag("WebFetchTool20260209Param")]
    | Annotated[WebFetchTool20260309Param, Tag("WebFetchTool20260309Param")]
    | Annotated[ToolSearchToolBm25Param, Tag("ToolSearchToolBm25Param")]
    | Annotated[ToolSearchToolRegexParam, Tag("ToolSearchToolRegexParam")]
    | Annotated[OtherToolParam, Tag("OtherToolParam")],
    Discriminator(_tool_tag),
]


class ToolChoiceAutoParam(_Open):
    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAnyParam(_Open):
    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceToolParam(_Open):
    type: Literal["tool"]
    name: str = Field(min_length=1)
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNoneParam(_Open):
    type: Literal["none"]


ToolChoiceParam = Annotated[
    ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam,
    Field(discriminator="type"),
]


ThinkingDisplay = Literal["summarized", "omitted"]


class ThinkingConfigEnabledParam(_Open):
    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1024)
    display: ThinkingDisplay | None = None


class ThinkingConfigDisabledParam(_Open):
    type: Literal["disabled"]


class ThinkingConfigAdaptiveParam(_Open):
    type: Literal["adaptive"]
    display: ThinkingDisplay | None = None


ThinkingConfigParam = Annotated[
    ThinkingConfigEnabledParam | ThinkingConfigDisabledParam | ThinkingConfigAdaptiveParam,
    Field(discriminator="type"),
]


class MetadataParam(_Open):
    user_id: str | None = Field(default=None, max_length=512)


class JSONOutputFormatParam(_Open):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfigParam(_Open):
    effort: Literal["low", "medium", "high", "max"] | None = None
    format: JSONOutputFormatParam | None = None


class CountTokensRequest(_Open):
    """`POST /v1/messages/count_tokens`: what the model would read, without generating."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    tools: list[AnyToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    thinking: ThinkingConfigParam | None = None
    output_config: OutputConfigParam | None = None
    cache_control: CacheControlEphemeralParam | None = None


class CreateMessageRequest(CountTokensRequest):
    """`POST /v1/messages`."""

    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    metadata: MetadataParam | None = None
    service_tier: Literal["auto", "standard_only"] | None = None  # one tier here: usage says "standard"
    container: str | None = None  # code execution's container: native backends only
    inference_geo: str | None = None  # accepted; a translated request runs where this server does
