"""AWS wire-level pieces of `bedrock_stub` (the local stand-in for Bedrock, because AWS is
unreachable where these tests run): the event-stream message encoding of ConverseStream, and
SigV4 verification that recomputes a request's signature like AWS does."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

REGION = "us-east-1"


# -- the AWS event-stream encoding -------------------------------------------------------------


def encode_event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total length, headers length, prelude CRC32), headers
    (name length, name, type 7 = string, value length, value), payload, message CRC32."""
    encoded = b"".join(
        struct.pack(">B", len(name.encode()))
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_event_message(headers, json.dumps(body).encode())


def exception_event(exception_type: str, body: dict[str, Any]) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_event_message(headers, json.dumps(body).encode())


# -- SigV4 verification ------------------------------------------------------------------------

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


class StubError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def verify_sigv4(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    credentials: dict[str, tuple[str, str | None]],
) -> str:
    """Recompute the request's SigV4 signature; return the access key id or raise StubError."""
    match = _AUTH.match(headers.get("authorization", ""))
    if not match:
        raise StubError(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.",
        )
    if match["service"] != "bedrock":
        raise StubError(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: 'bedrock'. (got {match['service']!r})",
        )
    if match["region"] != REGION:
        raise StubError(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not {match['region']!r}.",
        )
    if match["key"] not in credentials:
        raise StubError(
            403, "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    secret, token = credentials[match["key"]]
    signed = match["signed"].split(";")
    amz_date = headers.get("x-amz-date", "")
    if "host" not in signed or "x-amz-date" not in signed or not amz_date.startswith(match["date"]):
        raise StubError(
            403,
            "IncompleteSignatureException",
            "Host and X-Amz-Date must be signed, and X-Amz-Date match the scope.",
        )
    stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if abs((datetime.now(UTC) - stamp).total_seconds()) > 900:
        raise StubError(403, "InvalidSignatureException", "Signature expired.")
    if token is not None and (
        headers.get("x-amz-security-token") != token or "x-amz-security-token" not in signed
    ):
        raise StubError(
            403, "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    path, _, query = raw_path.partition("?")
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&")) if query else []
    canonical_query = "&".join(f"{key}={value}" for key, value in pairs)
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)
    canonical_request = "\n".join(
        [
            method,
            quote(path, safe="/~"),
            canonical_query,
            canonical_headers,
            match["signed"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{match['date']}/{match['region']}/bedrock/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), match["date"])
    for part in (match["region"], "bedrock", "aws4_request"):
        key = _hmac(key, part)
    if not hmac.compare_digest(
        hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest(), match["signature"]
    ):
        raise StubError(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return match["key"]
