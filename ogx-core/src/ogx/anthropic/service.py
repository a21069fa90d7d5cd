"""The Messages API over the model registry and the inference router: a request for a model
whose provider speaks the Messages API goes to it as sent (see `hooks`); any other is translated
to a chat completion and the answer translated back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson

from ogx.anthropic import stream
from ogx.anthropic.hooks import native_messages, with_client_model
from ogx.anthropic.models import CountTokensRequest, CreateMessageRequest
from ogx.anthropic.tokens import estimate
from ogx.anthropic.translate import thinking_omitted, to_chat_request, to_message
from ogx.anthropic.types import AnthropicMessage, CountTokensResponse
from ogx.routing.inference import InferenceRouter
from ogx.routing.models import ModelRegistry
from ogx_api.inference import ChatCompletionRequest, ModelType


class MessagesService:
    def __init__(self, models: ModelRegistry, inference: InferenceRouter) -> None:
        self.models = models
        self.inference = inference

    async def create(
        self, body: CreateMessageRequest, raw: bytes, owner: str | None = None
    ) -> AnthropicMessage | AsyncIterator[bytes]:
        """A `Message`, or (when `body.stream`) the encoded event stream."""
        entry = self.models.resolve(body.model, ModelType.llm)
        native = native_messages(self.models.provider(entry), entry.provider_model_id)
        if native is not None:
            payload = orjson.loads(raw)
            payload["model"] = entry.provider_model_id
            if body.stream:
                return with_client_model(native.anthropic_messages_stream(payload), body.model)
            result = await native.anthropic_messages(payload)
            result["model"] = body.model
            return result  # type: ignore[return-value]
        chat = await _translated(body, raw)
        if body.stream:
            chunks = await self.inference.chat_completion_stream(chat, owner)
            return stream.events(chunks, body.model, body.stop_sequences, thinking_omitted(body))
        completion = await self.inference.chat_completion(chat, owner)
        return to_message(completion, body.stop_sequences, thinking_omitted(body))

    async def count_tokens(self, body: CountTokensRequest, raw: bytes) -> CountTokensResponse:
        """The backend's own count where it has one, else an estimate marked `estimated`."""
        entry = self.models.resolve(body.model, ModelType.llm)
        provider = self.models.provider(entry)
        native = native_messages(provider, entry.provider_model_id)
        native_count = getattr(native, "anthropic_count_tokens", None)
        if native_count is not None:
            payload = orjson.loads(raw)
            payload["model"] = entry.provider_model_id
            return {"input_tokens": await native_count(payload)}
        chat = await _translated(body, raw)
        count = getattr(provider, "count_tokens", None)
        if count is not None:
            chat.model = entry.provider_model_id
            return {"input_tokens": await count(chat)}
        return {"input_tokens": estimate(chat), "estimated": True}


async def _translated(body: CountTokensRequest, raw: bytes) -> ChatCompletionRequest:
    # Extracting a PDF's text takes long enough to stall every other request: off the loop.
    if b"application/pdf" in raw:
        return await asyncio.to_thread(to_chat_request, body)
    return to_chat_request(body)
