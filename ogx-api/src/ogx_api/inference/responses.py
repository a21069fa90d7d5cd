"""Response shapes of the OpenAI inference endpoints as TypedDicts.

Providers return plain JSON-ready dicts typed by these; the server relays them without
re-validating (the hot path). Tests and the conformance suites validate them against these
types with pydantic's `TypeAdapter`, and the OpenAPI document is generated from them.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict


class PromptTokensDetails(TypedDict, total=False):
    cached_tokens: int
    audio_tokens: int


class CompletionTokensDetails(TypedDict, total=False):
    reasoning_tokens: int
    audio_tokens: int
    accepted_prediction_tokens: int
    rejected_prediction_tokens: int


class CompletionUsage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: NotRequired[PromptTokensDetails | None]
    completion_tokens_details: NotRequired[CompletionTokensDetails | None]


class TopLogprob(TypedDict):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TypedDict):
    token: str
    logprob: float
    bytes: list[int] | None
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(TypedDict):
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None


class ToolCallFunction(TypedDict):
    name: str
    arguments: str


class ToolCallDict(TypedDict):
    id: str
    type: Literal["function"]
    function: ToolCallFunction


class CustomToolCallInput(TypedDict):
    name: str
    input: str


class CustomToolCallDict(TypedDict):
    """A call of a custom tool (free-form input), as a backend that supports them returns it."""

    id: str
    type: Literal["custom"]
    custom: CustomToolCallInput


class URLCitation(TypedDict):
    end_index: int
    start_index: int
    url: str
    title: str


class URLCitationAnnotation(TypedDict):
    type: Literal["url_citation"]
    url_citation: URLCitation


class ChatCompletionAudio(TypedDict):
    id: str
    expires_at: int
    data: str
    transcript: str


class ChatCompletionMessage(TypedDict):
    """`refusal`, `annotations` (and the choice's `logprobs`) are always present: the router fills
    what a backend leaves out (`with_required_fields`)."""

    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: NotRequired[list[ToolCallDict | CustomToolCallDict] | None]
    annotations: list[URLCitationAnnotation]
    function_call: NotRequired[ToolCallFunction | None]  # deprecated by OpenAI; kept for old clients
    audio: NotRequired[ChatCompletionAudio | None]
    reasoning_content: NotRequired[str | None]


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
ServiceTier = Literal["auto", "default", "flex", "scale", "priority"]


class ChatCompletionChoice(TypedDict):
    index: int
    message: ChatCompletionMessage
    finish_reason: FinishReason | None
    logprobs: ChoiceLogprobs | None


class ChatCompletion(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatCompletionChoice]
    usage: NotRequired[CompletionUsage | None]
    service_tier: NotRequired[ServiceTier | None]
    system_fingerprint: NotRequired[str | None]


class StoredChatCompletion(ChatCompletion):
    """A chat completion stored with `store: true`, as the stored-completion endpoints return it."""

    metadata: dict[str, str]


class ChatCompletionList(TypedDict):
    object: Literal["list"]
    data: list[StoredChatCompletion]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ChatCompletionDeleted(TypedDict):
    object: Literal["chat.completion.deleted"]
    id: str
    deleted: bool


class StoredTextPart(TypedDict):
    type: Literal["text"]
    text: str


class StoredImageURL(TypedDict):
    url: str
    detail: NotRequired[Literal["auto", "low", "high"]]


class StoredImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: StoredImageURL


class StoredMessage(TypedDict):
    """One input message of a stored chat completion, with the id it is listed under. A message
    sent with content parts has its text parts joined in `content` and the parts as sent in
    `content_parts` (audio and file parts included)."""

    id: str
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | None
    content_parts: list[StoredTextPart | StoredImagePart | dict[str, Any]] | None
    refusal: str | None
    name: NotRequired[str]
    tool_calls: NotRequired[list[ToolCallDict | CustomToolCallDict]]
    tool_call_id: NotRequired[str]
    function_call: NotRequired[ToolCallFunction | None]
    annotations: NotRequired[list[URLCitationAnnotation]]  # an assistant turn sent back as received


class ChatCompletionMessageList(TypedDict):
    object: Literal["list"]
    data: list[StoredMessage]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ToolCallFunctionDelta(TypedDict, total=False):
    name: str | None
    arguments: str | None


class ToolCallDelta(TypedDict):
    index: int
    id: NotRequired[str | None]
    type: NotRequired[Literal["function"] | None]
    function: NotRequired[ToolCallFunctionDelta | None]


class ChunkDelta(TypedDict, total=False):
    role: Literal["system", "developer", "user", "assistant", "tool"] | None
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCallDelta] | None
    reasoning_content: str | None


class ChatCompletionChunkChoice(TypedDict):
    index: int
    delta: ChunkDelta
    finish_reason: FinishReason | None
    logprobs: NotRequired[ChoiceLogprobs | None]


class ChatCompletionChunk(TypedDict):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChatCompletionChunkChoice]
    usage: NotRequired[CompletionUsage | None]
    service_tier: NotRequired[ServiceTier | None]
    system_fingerprint: NotRequired[str | None]


class CompletionLogprobs(TypedDict, total=False):
    text_offset: list[int]
    token_logprobs: list[float]
    tokens: list[str]
    top_logprobs: list[dict[str, float]]


class CompletionChoice(TypedDict):
    index: int
    text: str
    finish_reason: Literal["stop", "length", "content_filter"] | None
    logprobs: CompletionLogprobs | None


class Completion(TypedDict):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: NotRequired[CompletionUsage | None]
    system_fingerprint: NotRequired[str | None]


class Embedding(TypedDict):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str


class EmbeddingUsage(TypedDict):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(TypedDict):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class OpenAIModel(TypedDict):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(TypedDict):
    object: Literal["list"]
    data: list[OpenAIModel]
