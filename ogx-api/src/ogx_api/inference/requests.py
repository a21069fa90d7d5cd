"""Request bodies of the OpenAI inference endpoints, as pydantic models (validated once, at the
edge). Shapes follow the OpenAI API 2.3.0 specification. Unknown fields are kept and passed to
the backend, so backend-specific parameters (`top_k`, `chat_template_kwargs`, …) still work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from ogx_api.metadata import Metadata


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextPart(_Part):
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Part):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(BaseModel):
    data: str
    format: Literal["wav", "mp3"]


class AudioPart(_Part):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FileRef(BaseModel):
    model_config = ConfigDict(extra="allow")

    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(_Part):
    type: Literal["file"]
    file: FileRef


class RefusalPart(_Part):
    type: Literal["refusal"]
    refusal: str


UserContentPart = Annotated[TextPart | ImagePart | AudioPart | FilePart, Field(discriminator="type")]
AssistantContentPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    arguments: str


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class CustomCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    input: str


class CustomToolCall(BaseModel):
    """A call of a custom tool (free-form `input`), sent back in an assistant turn."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: Literal["custom"]
    custom: CustomCall


def _call_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "custom" if kind == "custom" else "function"


AnyToolCall = Annotated[
    Annotated[ToolCall, Tag("function")] | Annotated[CustomToolCall, Tag("custom")], Discriminator(_call_kind)
]


class AssistantAudioRef(BaseModel):
    """A previous audio response from the model, referred to by id."""

    model_config = ConfigDict(extra="allow")

    id: str


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")


class SystemMessage(_Message):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Message):
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Message):
    role: Literal["user"]
    content: str | list[UserContentPart]
    name: str | None = None


class AssistantMessage(_Message):
    role: Literal["assistant"]
    content: str | list[AssistantContentPart] | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[AnyToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: AssistantAudioRef | None = None


class ToolMessage(_Message):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_Message):
    role: Literal["function"]
    content: str | None
    name: str


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    function: FunctionDefinition


class TextGrammarFormat(BaseModel):
    type: Literal["text"]


class Grammar(BaseModel):
    definition: str
    syntax: Literal["lark", "regex"]


class GrammarFormat(BaseModel):
    type: Literal["grammar"]
    grammar: Grammar


class CustomToolDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    format: Annotated[TextGrammarFormat | GrammarFormat, Field(discriminator="type")] | None = None


class CustomTool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["custom"]
    custom: CustomToolDefinition


Tool = Annotated[FunctionTool | CustomTool, Field(discriminator="type")]


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class NamedCustomToolChoice(BaseModel):
    type: Literal["custom"]
    custom: NamedFunction


class AllowedTools(BaseModel):
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class AllowedToolsChoice(BaseModel):
    type: Literal["allowed_tools"]
    allowed_tools: AllowedTools


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[NamedToolChoice | NamedCustomToolChoice | AllowedToolsChoice, Field(discriminator="type")]
)


class JSONSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextFormat(BaseModel):
    type: Literal["text"]


class JSONObjectFormat(BaseModel):
    type: Literal["json_object"]


class JSONSchemaResponseFormat(BaseModel):
    type: Literal["json_schema"]
    json_schema: JSONSchemaFormat


ResponseFormat = Annotated[
    TextFormat | JSONObjectFormat | JSONSchemaResponseFormat, Field(discriminator="type")
]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ApproximateLocation(BaseModel):
    model_config = ConfigDict(extra="allow")

    country: str | None = None
    region: str | None = None
    city: str | None = None
    timezone: str | None = None


class UserLocation(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["approximate"]
    approximate: ApproximateLocation


class WebSearchOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    user_location: UserLocation | None = None
    search_context_size: Literal["low", "medium", "high"] | None = None


class CustomVoice(BaseModel):
    id: str


class AudioOutput(BaseModel):
    """`audio`: how to answer in audio (with `modalities: ["audio"]`)."""

    model_config = ConfigDict(extra="allow")

    # Both are required by OpenAI; left optional so a provider that can't answer in audio
    # refuses `audio` itself, naming it, whatever its content.
    voice: str | CustomVoice | None = None
    format: Literal["wav", "aac", "mp3", "flac", "opus", "pcm16"] | None = None


class Prediction(BaseModel):
    """Predicted output (`prediction`), which speeds up regenerating mostly known content."""

    model_config = ConfigDict(extra="allow")

    type: Literal["content"]
    content: str | list[TextPart]


Stop = str | list[str] | None


class _InferenceRequest(BaseModel):
    # Unknown fields are backend-specific parameters: keep them and pass them on.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model: str = Field(min_length=1)

    def backend_payload(self) -> dict[str, Any]:
        """The JSON body for an OpenAI-compatible backend: exactly what the client set
        (unknown fields included), with `model` as the core resolved it."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class ChatCompletionRequest(_InferenceRequest):
    messages: list[Message] = Field(min_length=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    modalities: list[Literal["text", "audio"]] | None = None
    prediction: Prediction | None = None
    audio: AudioOutput | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    response_format: ResponseFormat | None = None
    seed: int | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    stop: Stop = None
    store: bool | None = None
    metadata: Metadata | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=64)
    prompt_cache_key: str | None = None
    prompt_cache_retention: Literal["in-memory", "24h"] | None = None
    web_search_options: WebSearchOptions | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    functions: list[FunctionDefinition] | None = None


class _BuiltChatRequest(ChatCompletionRequest):
    """A chat request OGX built itself, translating another API's request: the JSON-ready dict it
    was validated from is its backend body, so the adapter does not serialize it all again.
    Setting any field but `model` (which the router resolves) drops that dict."""

    __slots__ = ("_body",)

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "model":
            object.__setattr__(self, "_body", None)
        super().__setattr__(name, value)

    def backend_payload(self) -> dict[str, Any]:
        body = getattr(self, "_body", None)  # a `model_copy` has none
        if body is None:
            return super().backend_payload()
        return {**body, "model": self.model}


_validate_built = _BuiltChatRequest.__pydantic_validator__.validate_python


def built_chat_request(payload: dict[str, Any]) -> ChatCompletionRequest:
    """`ChatCompletionRequest.model_validate(payload)`, for a `payload` of JSON values that the
    caller built and does not change afterwards; raises pydantic's `ValidationError` alike."""
    request = _validate_built(payload)
    object.__setattr__(request, "_body", payload)
    return request


class CompletionRequest(_InferenceRequest):
    prompt: str | list[str] | list[int] | list[list[int]]
    best_of: int | None = Field(default=None, ge=0, le=20)
    echo: bool | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=1, le=128)
    seed: int | None = None
    stop: Stop = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    user: str | None = None


class EmbeddingsRequest(_InferenceRequest):
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
