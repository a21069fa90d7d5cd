"""`POST /v1/responses` request bodies, validated once at the edge.

Input items are a union discriminated by `type` (a message may leave it out). Every tool, tool
choice and item of OpenAI's spec is accepted; those the loop cannot run (`kinds/`: computer use,
web search, code interpreter, image generation, shells, apply_patch, custom tools, ...) and
prompt templates or context management are refused by `unsupported()` with a 400 naming them.
Unknown top-level fields are kept and passed to the model's chat request, as chat completions do."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ogx.deferred import DeferredModel
from ogx.responses import kinds
from ogx_api import InvalidRequest
from ogx_api.metadata import Metadata
from ogx_api.vector_io import Filter

# -- content parts -------------------------------------------------------------------------------


class _Part(DeferredModel):
    model_config = ConfigDict(extra="allow")


class InputText(_Part):
    type: Literal["input_text"]
    text: str


class InputImage(_Part):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high", "original"] = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> InputImage:
        if not (self.image_url or self.file_id):
            raise ValueError("an input_image needs image_url or file_id")
        return self


class InputFile(_Part):
    type: Literal["input_file"]
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> InputFile:
        if not (self.file_id or self.file_data or self.file_url):
            raise ValueError("an input_file needs file_id, file_data or file_url")
        return self


class OutputText(_Part):
    type: Literal["output_text"]
    text: str
    annotations: list[kinds.ResponsesAnnotation] = Field(default_factory=list)
    logprobs: list[kinds.ResponsesLogProb] | None = None


class Refusal(_Part):
    type: Literal["refusal"]
    refusal: str


class ReasoningText(_Part):
    type: Literal["reasoning_text", "summary_text", "text"]
    text: str


ContentPart = Annotated[
    InputText | InputImage | InputFile | OutputText | Refusal | ReasoningText, Field(discriminator="type")
]
ToolOutputPart = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]

# -- input items ---------------------------------------------------------------------------------


class _Item(DeferredModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None


class MessageItem(_Item):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ContentPart]
    status: str | None = None
    phase: kinds.ResponsesMessagePhase | None = None


class FunctionCallItem(_Item):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str
    status: str | None = None
    namespace: str | None = None


class FunctionCallOutputItem(_Item):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=64)
    output: str | list[ToolOutputPart]
    status: str | None = None


class McpApprovalResponseItem(_Item):
    type: Literal["mcp_approval_response"]
    approval_request_id: str = Field(min_length=1)
    approve: bool
    reason: str | None = None


class McpApprovalRequestItem(_Item):
    type: Literal["mcp_approval_request"]
    server_label: str
    name: str
    arguments: str


class ItemReference(_Item):
    type: Literal["item_reference"] = "item_reference"


def _tagged(classes: tuple[type[BaseModel], ...]) -> list[Any]:
    """Each class tagged with the `type` values it stands for (a discriminated union's members)."""
    return [
        Annotated[cls, Tag(value)]
        for cls in classes
        for value in get_args(cls.model_fields["type"].annotation)
    ]


def _item_type(value: Any) -> str:
    if isinstance(value, dict):
        default = "message" if "role" in value or "id" not in value else "item_reference"
        return str(value.get("type", default))
    return str(getattr(value, "type", "message"))


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[McpApprovalResponseItem, Tag("mcp_approval_response")]
    | Annotated[McpApprovalRequestItem, Tag("mcp_approval_request")]
    | Annotated[ItemReference, Tag("item_reference")]
    | Union[tuple(_tagged((*kinds.EARLIER_ITEMS, *kinds.UNSUPPORTED_ITEMS)))],  # noqa: UP007
    Discriminator(_item_type),
]

# -- tools ---------------------------------------------------------------------------------------


class ResponseFunctionTool(DeferredModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    defer_loading: bool | None = None  # for tool search, which OGX does not run


class HybridSearchWeights(DeferredModel):
    embedding_weight: float = Field(ge=0)
    text_weight: float = Field(ge=0)


class FileSearchRankingOptions(DeferredModel):
    model_config = ConfigDict(extra="allow")

    ranker: Literal["auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    hybrid_search: HybridSearchWeights | None = None


class FileSearchTool(DeferredModel):
    type: Literal["file_search"]
    vector_store_ids: list[str] = Field(min_length=1)
    filters: Filter | None = None
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: FileSearchRankingOptions | None = None


class ToolNames(DeferredModel):
    tool_names: list[str] = Field(default_factory=list)
    read_only: bool | None = None


class ApprovalFilter(DeferredModel):
    always: ToolNames | None = None
    never: ToolNames | None = None


class McpTool(DeferredModel):
    type: Literal["mcp"]
    server_label: str = Field(min_length=1, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    server_url: str | None = None
    connector_id: str | None = None
    server_description: str | None = None
    headers: dict[str, str] | None = None
    authorization: str | None = None
    require_approval: Literal["always", "never"] | ApprovalFilter | None = None
    allowed_tools: list[str] | ToolNames | None = None
    defer_loading: bool | None = None  # for tool search, which OGX does not run

    @model_validator(mode="after")
    def _one_server(self) -> McpTool:
        if bool(self.server_url) == bool(self.connector_id):
            raise ValueError("an mcp tool needs exactly one of server_url and connector_id")
        return self

    def needs_approval(self, tool_name: str) -> bool:
        policy = self.require_approval
        if policy is None or policy == "always":
            return True  # OpenAI's default: ask before sending data to a remote server
        if policy == "never":
            return False
        # listed under "always", or not listed at all: the default, "always", holds
        return not (policy.never and tool_name in policy.never.tool_names)

    def allows(self, tool_name: str) -> bool:
        allowed = self.allowed_tools
        if allowed is None:
            return True
        names = allowed if isinstance(allowed, list) else allowed.tool_names
        return tool_name in names


RunnableTool = Annotated[ResponseFunctionTool | FileSearchTool | McpTool, Field(discriminator="type")]
Tool = Annotated[
    Union[tuple(_tagged((ResponseFunctionTool, FileSearchTool, McpTool, *kinds.UNSUPPORTED_TOOLS)))],  # noqa: UP007
    Discriminator(_item_type),
]

# -- tool choice, text, reasoning ----------------------------------------------------------------


class FunctionChoice(DeferredModel):
    type: Literal["function"]
    name: str


class HostedChoice(DeferredModel):
    type: Literal[
        "file_search",
        "web_search_preview",
        "computer",
        "computer_use_preview",
        "computer_use",
        "web_search_preview_2025_03_11",
        "image_generation",
        "code_interpreter",
    ]


class McpChoice(DeferredModel):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


class ResponseAllowedToolsChoice(DeferredModel):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


_RUNNABLE_CHOICES = (FunctionChoice, HostedChoice, McpChoice, ResponseAllowedToolsChoice)
RunnableToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[
        FunctionChoice | HostedChoice | McpChoice | ResponseAllowedToolsChoice, Field(discriminator="type")
    ]
)
ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[
        Union[tuple(_tagged((*_RUNNABLE_CHOICES, *kinds.UNSUPPORTED_CHOICES)))],  # noqa: UP007
        Discriminator(_item_type),
    ]
)


class ResponseTextFormat(DeferredModel):
    type: Literal["text"]


class JsonObjectFormat(DeferredModel):
    type: Literal["json_object"]


class JsonSchemaFormat(DeferredModel):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["json_schema"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class TextConfig(DeferredModel):
    format: (
        Annotated[ResponseTextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")]
        | None
    ) = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(DeferredModel):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class ConversationRef(DeferredModel):
    id: str = Field(min_length=1)


class ResponseStreamOptions(DeferredModel):
    include_obfuscation: bool | None = None


Include = Literal[
    "file_search_call.results",
    "message.output_text.logprobs",
    "message.input_image.image_url",
    "reasoning.encrypted_content",
    "web_search_call.results",
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
]


class CreateResponseRequest(DeferredModel):
    # Unknown fields are backend parameters: kept and passed on to the chat request.
    model_config = ConfigDict(extra="allow")

    model: str | None = Field(default=None, min_length=1)  # optional to OpenAI, for a prompt template's
    input: str | list[InputItem] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    prompt: kinds.ResponsesPrompt = None
    context_management: list[kinds.ResponsesContextManagementParam] | None = None
    conversation: str | ConversationRef | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=16)
    max_infer_iters: int = Field(default=10, ge=1, le=100)
    text: TextConfig | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    store: bool | None = None
    stream: bool | None = None
    stream_options: ResponseStreamOptions | None = None
    background: bool | None = None
    include: list[Include] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    metadata: Metadata | None = None
    prompt_cache_key: str | None = Field(default=None, max_length=64)
    prompt_cache_retention: Literal["in-memory", "24h"] | None = None
    safety_identifier: str | None = Field(default=None, max_length=64)
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    reasoning: ReasoningConfig | None = None
    user: str | None = None

    @property
    def conversation_id(self) -> str | None:
        conversation = self.conversation
        return conversation.id if isinstance(conversation, ConversationRef) else conversation

    def unsupported(self) -> tuple[str, str] | None:
        """(param, what) of the first part of the request OGX parses but cannot run."""
        if self.model is None:
            return "model", "a request without `model` (prompt templates are not stored here)"
        if self.prompt is not None:
            return "prompt", "prompt templates"
        if self.context_management:
            return "context_management", "server-side context management (use /v1/responses/compact)"
        for index, tool in enumerate(self.tools or []):
            if isinstance(tool, kinds.UNSUPPORTED_TOOLS):
                return f"tools[{index}]", f"the {tool.type!r} tool"
            if getattr(tool, "defer_loading", None):
                return f"tools[{index}].defer_loading", "deferred loading (tool search)"
        if isinstance(self.tool_choice, kinds.UNSUPPORTED_CHOICES) or (
            isinstance(self.tool_choice, HostedChoice) and self.tool_choice.type != "file_search"
        ):
            return "tool_choice", f"the {self.tool_choice.type!r} tool"
        return unsupported_items(self.input)

    def includes(self, value: str) -> bool:
        return bool(self.include) and value in self.include  # type: ignore[operator]


def unsupported_items(items: str | list[Any] | None) -> tuple[str, str] | None:
    """(param, what) of the first input item that belongs to a tool OGX does not run."""
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, kinds.UNSUPPORTED_ITEMS):
            return f"input[{index}]", f"{item.type!r} items (their tool is not run here)"
    return None


def refuse_unsupported(found: tuple[str, str] | None) -> None:
    if found is not None:
        param, what = found
        raise InvalidRequest(
            f"{param}: {what} is not supported by OGX", param=param, code="unsupported_parameter"
        )
