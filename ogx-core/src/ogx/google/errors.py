"""Google's error envelope, `{"error": {"code", "message"}}` (the specification's `Error`):
`code` is a string naming the kind of error; the message names the offending field."""

from __future__ import annotations

from typing import Any

from ogx.google.stream import encode
from ogx_api import OGXError


def google_envelope(error: OGXError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message}}


def stream_error(error: OGXError) -> bytes:
    return encode({"event_type": "error", **google_envelope(error)})
