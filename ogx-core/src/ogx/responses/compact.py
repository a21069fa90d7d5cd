"""`POST /v1/responses/compact`: the conversation so far condensed by one model call into the
user's messages (verbatim) and a `compaction` item holding the summary, which a later request
sends back as input in place of the history it replaces.

The summary is not encrypted (OGX has no key to encrypt it with): `encrypted_content` holds it
as text, and the model reads it as a summary of the earlier conversation."""

from __future__ import annotations

import time
from typing import Any

from pydantic import ConfigDict, Field

from ogx.deferred import DeferredModel
from ogx.responses import items as item_utils
from ogx.responses.resource import add_usage, empty_usage
from ogx.responses.schema import InputItem, refuse_unsupported, unsupported_items
from ogx.routing.inference import InferenceRouter
from ogx_api import InvalidRequest
from ogx_api.inference import built_chat_request

PROMPT = (
    "You are performing a context checkpoint compaction. Summarise the conversation above for a "
    "model that will continue it without seeing it: the user's goals, the decisions and facts "
    "established, the tools' results that matter, and what remains to do. Be complete but brief."
)


class CompactRequest(DeferredModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[InputItem] | None = None
    previous_response_id: str | None = None
    instructions: str | None = None
    prompt_cache_key: str | None = Field(default=None, max_length=64)


async def compact(
    inference: InferenceRouter, body: CompactRequest, history: list[dict[str, Any]], owner: str | None
) -> dict[str, Any]:
    refuse_unsupported(unsupported_items(body.input))
    new_items = item_utils.input_items(body)  # type: ignore[arg-type]
    messages = history + item_utils.to_messages(new_items)
    if not messages:
        raise InvalidRequest("input: there is nothing to compact", param="input")
    prompt = [{"role": "system", "content": body.instructions}] if body.instructions else []
    request: dict[str, Any] = {
        "model": body.model,
        "messages": [*prompt, *messages, {"role": "user", "content": PROMPT}],
    }
    if body.prompt_cache_key:
        request["prompt_cache_key"] = body.prompt_cache_key
    completion = await inference.chat_completion(built_chat_request(request), owner)
    summary = (completion["choices"][0]["message"].get("content") or "").strip()
    usage = empty_usage()
    add_usage(usage, completion.get("usage"))  # type: ignore[arg-type]
    kept = [
        {
            "type": "message",
            "id": item_utils.new_id("msg"),
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_text", "text": m["content"]}],
        }
        for m in messages
        if m["role"] == "user" and isinstance(m["content"], str)
    ]
    compaction = {"type": "compaction", "id": item_utils.new_id("cmp"), "encrypted_content": summary}
    return {
        "id": item_utils.new_id("resp"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": [*kept, compaction],
        "usage": usage,
    }
