"""Anthropic's error envelope, `{"type": "error", "error": {"type", "message"}, "request_id"}`,
registered with the server's `ErrorLayer` for `/v1/messages`, and its SSE `error` event.

Statuses stay OGX's (a backend that cannot be reached is 503, one that is slow 504); the error
`type` is Anthropic's for that status."""

from __future__ import annotations

from typing import Any

import orjson

from ogx_api import OGXError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status_code: int) -> str:
    found = _TYPES.get(status_code)
    if found is not None:
        return found
    return "api_error" if status_code >= 500 else "invalid_request_error"


def anthropic_envelope(error: OGXError) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": error_type(error.status_code), "message": error.message},
        "request_id": None,
    }


def error_event(error: OGXError) -> bytes:
    return b"event: error\ndata: " + orjson.dumps(anthropic_envelope(error)) + b"\n\n"
