"""Optional provider methods the Messages API uses when an inference provider has them.

Both are found with `getattr` on the provider serving the request's model (one attribute
lookup per request; no registration). A provider implements them by defining the methods; the
protocols below are their contract.

**Native passthrough** (`AnthropicMessagesProvider`): a provider whose backend speaks Anthropic's
Messages API itself (recent vLLM and Ollama serve `/v1/messages`, as Anthropic does) gets
the client's request body as sent — unknown fields, server tools and all — with only `model`
replaced by the provider's own id:

- `supports_anthropic_messages(provider_model_id) -> bool`: whether to pass this model's requests
  through (a config switch, or a per-model answer); `False` falls back to translation.
- `async anthropic_messages(body) -> dict`: the `Message` the backend returned.
- `anthropic_messages_stream(body) -> AsyncIterator[bytes]`: the backend's SSE stream, each item
  one or more **whole** events (`event: …\\ndata: …\\n\\n`). Raise before the first item for a
  refused request (the client then gets an HTTP error); the core relays the bytes, rewriting only
  `message.model` in `message_start` back to the client's model id.
- `async anthropic_count_tokens(body) -> int` (optional): the backend's own count.

**Token counting** (`TokenCounter`): `async count_tokens(request: ChatCompletionRequest) -> int`,
the number of prompt tokens the model would read for this chat request (chat template and tool
definitions included), for a provider that has the tokenizer (in-process models, or a backend
with a tokenize endpoint). Without it `/v1/messages/count_tokens` estimates.

Failures are raised as `ogx_api.errors` types, as for every provider method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

import orjson

from ogx_api.inference import ChatCompletionRequest


@runtime_checkable
class AnthropicMessagesProvider(Protocol):
    def supports_anthropic_messages(self, provider_model_id: str) -> bool: ...

    async def anthropic_messages(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def anthropic_messages_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]: ...


@runtime_checkable
class TokenCounter(Protocol):
    async def count_tokens(self, request: ChatCompletionRequest) -> int: ...


_SPEAKS_MESSAGES: dict[type, bool] = {}


def native_messages(provider: object, provider_model_id: str) -> AnthropicMessagesProvider | None:
    """The provider, when it takes this model's Messages requests as they are."""
    # Asked of the class once: a failed attribute lookup per request costs an exception.
    kind = type(provider)
    speaks = _SPEAKS_MESSAGES.get(kind)
    if speaks is None:
        speaks = _SPEAKS_MESSAGES[kind] = callable(getattr(kind, "supports_anthropic_messages", None))
    if speaks and provider.supports_anthropic_messages(provider_model_id):  # type: ignore[attr-defined]
        return provider  # type: ignore[return-value]
    return None


async def with_client_model(events: AsyncIterator[bytes], model: str) -> AsyncIterator[bytes]:
    """Relays a native stream, setting `message.model` of `message_start` to the client's id."""
    try:
        async for chunk in events:
            if b"message_start" in chunk:
                yield _rewrite_model(chunk, model)
                break
            yield chunk
        async for chunk in events:
            yield chunk
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _rewrite_model(chunk: bytes, model: str) -> bytes:
    lines = chunk.split(b"\n")
    for position, line in enumerate(lines):
        if line.startswith(b"data:"):
            event = orjson.loads(line[5:])
            if isinstance(event, dict) and event.get("type") == "message_start":
                event["message"]["model"] = model
                lines[position] = b"data: " + orjson.dumps(event)
    return b"\n".join(lines)
