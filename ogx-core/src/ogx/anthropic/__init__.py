"""Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`) over OGX's providers.

- `models`: the request bodies (pydantic, validated once at the edge).
- `translate`: request → internal chat request, chat completion → `Message`.
- `stream`: the state machine turning chat chunks into Messages events.
- `hooks`: the optional provider methods (native passthrough, token counting).
- `tokens`: the estimate used when a provider cannot count tokens.
- `service`: passthrough or translation, per model.
- `errors`: the Anthropic error envelope.
"""

from ogx.anthropic.errors import anthropic_envelope, error_event
from ogx.anthropic.hooks import AnthropicMessagesProvider, TokenCounter
from ogx.anthropic.models import CountTokensRequest, CreateMessageRequest
from ogx.anthropic.service import MessagesService

__all__ = [
    "AnthropicMessagesProvider",
    "CountTokensRequest",
    "CreateMessageRequest",
    "MessagesService",
    "TokenCounter",
    "anthropic_envelope",
    "error_event",
]
