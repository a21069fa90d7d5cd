"""The `X-OGX-Provider-Data` header: parsed and validated once per request against the
`provider_data_validator` of every configured provider that declares one, then made available
to providers through `ogx_api.request_context`. A pure ASGI middleware: a request without the
header costs one scan of its headers."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from ogx.server.errors import ErrorLayer
from ogx_api import InvalidRequest, OGXError
from ogx_api.request_context import (
    PROVIDER_DATA_HEADER,
    reset_provider_data,
    set_provider_data,
    validate_provider_data,
)

_HEADER = PROVIDER_DATA_HEADER.lower().encode()


class ProviderDataMiddleware:
    def __init__(self, app: ASGIApp, *, validators: list[type[BaseModel]], errors: ErrorLayer) -> None:
        self.app = app
        self.validators = validators
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = next((value for name, value in scope["headers"] if name == _HEADER), None)
        if raw is None:
            return await self.app(scope, receive, send)
        try:
            data = self._parse(raw)
        except OGXError as error:
            return await self._reject(scope, send, error)
        token = set_provider_data(data)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_provider_data(token)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidRequest(
                f"{PROVIDER_DATA_HEADER} must be a JSON object", param=PROVIDER_DATA_HEADER
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequest(f"{PROVIDER_DATA_HEADER} must be a JSON object", param=PROVIDER_DATA_HEADER)
        for validator in self.validators:
            validate_provider_data(validator, data)
        return data

    async def _reject(self, scope: Scope, send: Send, error: OGXError) -> None:
        body = orjson.dumps(self.errors.envelope_for(scope["path"])(error))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
