"""Request bodies of Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`) as
pydantic models, validated once at the edge. Shapes follow `specs/anthropic-spec.json`.

Unknown fields and unknown content-block types are accepted rather than refused: a backend that
speaks the Messages API natively gets them as sent, and the translation refuses what it cannot
express with a message that names the block (Claude Code and the SDK's beta features send
fields this server has no use for)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Block(_Open):
    cache_control: dict[str, Any] | None = None  # accepted; backends cache prefixes on their own


class TextBlockParam(_Block):
    type: Literal["text"]
    text: str
    citations: list[dict[str, Any]] | None = None


class Base64ImageSourceParam(_Open):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str


class URLSourceParam(_Open):
    type: Literal["url"]
    url: str = Field(min_length=1)


class ImageBlockParam(_Block):
    type: Literal["image"]
    source: Annotated[Base64ImageSourceParam | URLSourceParam, Field(discriminator="type")]


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


class DocumentBlockParam(_Block):
    type: Literal["document"]
    source: Annotated[
        Base64PDFSourceParam | PlainTextSourceParam | ContentBlockSourceParam | URLSourceParam,
        Field(discriminator="type"),
    ]
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None


class ToolUseBlockParam(_Block):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]


class ThinkingBlockParam(_Block):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlockParam(_Block):
    type: Literal["redacted_thinking"]
    data: str


class OtherBlockParam(_Block):
    """A block type the translation does not know (server-tool results, search results, …)."""

    type: str


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN_BLOCKS else "other"


ToolResultContent = Annotated[
    Annotated[TextBlockParam, Tag("text")]
    | Annotated[ImageBlockParam, Tag("image")]
    | Annotated[DocumentBlockParam, Tag("document")]
    | Annotated[OtherBlockParam, Tag("other")],
    Discriminator(lambda v: t if (t := _block_tag(v)) in ("text", "image", "document") else "other"),
]


class ToolResultBlockParam(_Block):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[ToolResultContent] | None = None
    is_error: bool | None = None


ContentBlockParam = Annotated[
    Annotated[TextBlockParam, Tag("text")]
    | Annotated[ImageBlockParam, Tag("image")]
    | Annotated[DocumentBlockParam, Tag("document")]
    | Annotated[ToolUseBlockParam, Tag("tool_use")]
    | Annotated[ToolResultBlockParam, Tag("tool_result")]
    | Annotated[ThinkingBlockParam, Tag("thinking")]
    | Annotated[RedactedThinkingBlockParam, Tag("redacted_thinking")]
    | Annotated[OtherBlockParam, Tag("other")],
    Discriminator(_block_tag),
]

_KNOWN_BLOCKS = frozenset(
    ("text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking")
)


class MessageParam(_Open):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


class ToolParam(_Open):
    """A client tool (`type` absent or `custom`): the model may call it by name."""

    type: Literal["custom"] | None = None
    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: dict[str, Any]
    cache_control: dict[str, Any] | None = None

    @field_validator("input_schema")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError('must be a JSON schema with "type": "object"')
        return value


class ServerToolParam(_Open):
    """An Anthropic-hosted tool (`web_search_20250305`, `bash_20250124`, …): passed to a native
    backend as sent, refused by the translation."""

    type: str
    name: str


def _tool_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "custom" if kind in (None, "custom") else "server"


AnyToolParam = Annotated[
    Annotated[ToolParam, Tag("custom")] | Annotated[ServerToolParam, Tag("server")], Discriminator(_tool_tag)
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


class ThinkingConfigEnabledParam(_Open):
    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1024)
    display: str | None = None


class ThinkingConfigDisabledParam(_Open):
    type: Literal["disabled"]


class ThinkingConfigAdaptiveParam(_Open):
    type: Literal["adaptive"]
    display: str | None = None


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
    cache_control: dict[str, Any] | None = None


class CreateMessageRequest(CountTokensRequest):
    """`POST /v1/messages`."""

    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    metadata: MetadataParam | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
