"""The inference API: requests, responses and the provider protocol."""

from ogx_api.inference.protocol import InferenceProvider, ModelType, ProviderModel
from ogx_api.inference.requests import (
    AssistantMessage,
    ChatCompletionRequest,
    CompletionRequest,
    DeveloperMessage,
    EmbeddingsRequest,
    FunctionTool,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
    built_chat_request,
)
from ogx_api.inference.responses import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CompletionUsage,
    EmbeddingsResponse,
    ModelList,
    OpenAIModel,
)

__all__ = [
    "AssistantMessage",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "Completion",
    "CompletionRequest",
    "CompletionUsage",
    "DeveloperMessage",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "FunctionTool",
    "InferenceProvider",
    "Message",
    "ModelList",
    "ModelType",
    "OpenAIModel",
    "ProviderModel",
    "SystemMessage",
    "ToolMessage",
    "UserMessage",
    "built_chat_request",
]
