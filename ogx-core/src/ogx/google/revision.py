"""Google's `Api-Revision: 2026-05-20` of the Interactions API, the one `google-genai` 2.x and
3.x speak: the same resource and events with the model's output as `steps` instead of `outputs`.

OGX works in the original revision (the spec it conforms to, what google-genai 1.x gets); a
request gets the steps revision when it sends `Api-Revision: 2026-05-20` or later (google-genai
2.0 did), or sends none and identifies itself (`x-goog-api-client`) as google-genai 2 or later
(later 2.x releases and 3.x expect steps without sending the header). For such a request this
module rewrites the request's `input` on the way in and every interaction and event on the way out:

- an interaction's `outputs` become `steps`, one step per block: text and media blocks become a
  `model_output` step holding them; a thought, a function call or a tool's call or result is a
  step of its own (the fields are the same); `role` is gone;
- `input` may be a list of steps: `user_input` and `function_result` steps become user turns,
  the others model turns; `response_format` may be output formats (`{"type": "text",
  "mime_type": "application/json", "schema": …}`): the text one becomes the JSON schema;
- `interaction.start`/`complete` are `interaction.created`/`completed`; `content.start`,
  `.delta`, `.stop` are `step.start`, `.delta`, `.stop` (same indices, since steps are 1:1 with
  blocks); a function call's arguments arrive as one `arguments_delta`."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from ogx.google import stream
from ogx_api import InvalidRequest

STEPS_REVISION = "2026-05-20"
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_STEPS_SDK = re.compile(rb"(?:^|\s)google-genai-sdk/(?:[2-9]|\d\d+)\.")  # e.g. google-genai-sdk/2.34.0
_MEDIA = frozenset({"text", "image", "audio", "document", "video"})  # `Content` in the steps revision
_USER_STEPS = frozenset({"user_input", "function_result"})
_EVENTS = {
    "interaction.start": "interaction.created",
    "interaction.complete": "interaction.completed",
    "content.start": "step.start",
    "content.delta": "step.delta",
    "content.stop": "step.stop",
}


def wants_steps(request: Request) -> bool:
    """Whether the request is for the steps revision (or a later one)."""
    # the raw scope, as the Messages route reads anthropic-version: no Headers object per request
    revision = client = None
    for name, value in request.scope["headers"]:
        if name == b"api-revision":
            revision = value.decode("latin-1")
        elif name == b"x-goog-api-client":
            client = value
    if revision is None:
        return client is not None and _STEPS_SDK.search(client) is not None
    if not _DATE.match(revision):
        raise InvalidRequest(
            f"Api-Revision: expected a date such as {STEPS_REVISION!r}, got {revision!r}",
            param="Api-Revision",
        )
    return revision >= STEPS_REVISION


def request_body(raw: bytes) -> bytes:
    """The request body in the original revision's terms: a list of steps in `input` as turns, an
    output format in `response_format` as a JSON schema (anything else is left for the parser)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(body, dict):
        return raw
    changed = dict(body)
    if _is_step_list(body.get("input")):
        changed["input"] = turns(body["input"])
    if "response_format" in body:
        del changed["response_format"]
        changed.update(_response_format(body["response_format"]))
    return raw if changed == body else orjson.dumps(changed)


def _response_format(value: Any) -> dict[str, Any]:
    """`response_format` as the steps revision writes it — a JSON schema as before, or output
    formats (`{"type": "text", "mime_type", "schema"}`, or a list of them) — as the original's
    `response_format` (a JSON schema) and `response_mime_type`."""
    formats = value if isinstance(value, list) else [value]
    out: dict[str, Any] = {}
    for index, entry in enumerate(formats):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind in ("audio", "image", "video"):
            where = f"response_format[{index}]" if isinstance(value, list) else "response_format"
            raise InvalidRequest(f"{where}: OGX's models answer in text only", param=where)
        if kind != "text":
            out["response_format"] = entry  # a JSON schema (or not: the translation says so)
        elif entry.get("mime_type") == "application/json":
            out["response_mime_type"] = "application/json"
            if entry.get("schema") is not None:
                out["response_format"] = entry["schema"]
    return out


def _is_step_list(value: Any) -> bool:
    return isinstance(value, list) and any(
        isinstance(item, dict) and item.get("type") not in _MEDIA for item in value
    )


def turns(steps: list[Any]) -> list[dict[str, Any]]:
    """Steps as the original revision's turns; consecutive steps of one side share a turn."""
    out: list[dict[str, Any]] = []
    for item in steps:
        kind = item.get("type") if isinstance(item, dict) else None
        role = "model" if kind is not None and kind not in _USER_STEPS and kind not in _MEDIA else "user"
        blocks = item.get("content") if kind in ("user_input", "model_output") else [item]
        if not isinstance(blocks, list):  # the parser names what is wrong with it
            blocks = [blocks] if blocks is not None else []
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": list(blocks)})
    return out


def step(block: dict[str, Any]) -> dict[str, Any]:
    """The step that shows one output block."""
    if block.get("type") in _MEDIA:
        return {"type": "model_output", "content": [block]}
    return block


def interaction(resource: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in resource.items() if k not in ("outputs", "role", "input")}
    if "outputs" in resource:
        out["steps"] = [step(block) for block in resource["outputs"]]
    if "input" in resource:
        out["input"] = _input(resource["input"])
    return out


def _input(value: Any) -> Any:
    """A stored `input` as the steps revision writes it (turns become steps)."""
    if not (isinstance(value, list) and value and isinstance(value[0], dict) and "role" in value[0]):
        return value
    steps: list[dict[str, Any]] = []
    for turn in value:
        content = turn.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if turn.get("role") == "model":
            steps.extend(step(block) for block in blocks)
            continue
        for block in blocks:
            if block.get("type") in _MEDIA:
                if steps and steps[-1]["type"] == "user_input":
                    steps[-1]["content"].append(block)
                else:
                    steps.append({"type": "user_input", "content": [block]})
            else:
                steps.append(block)
    return steps


def encode(original: dict[str, Any]) -> bytes:
    return stream.encode(event(original))


def event(original: dict[str, Any]) -> dict[str, Any]:
    kind = original["event_type"]
    renamed = _EVENTS.get(kind)
    if renamed is None:  # interaction.status_update, error: the same in both revisions
        return original
    out = {**original, "event_type": renamed}
    if "interaction" in original:
        out["interaction"] = interaction(original["interaction"])
    elif kind == "content.start":
        del out["content"]
        out["step"] = step(original["content"])
    elif kind == "content.delta" and original["delta"].get("type") == "function_call":
        out["delta"] = {
            "type": "arguments_delta",
            "arguments": orjson.dumps(original["delta"]["arguments"]).decode(),
        }
    return out
