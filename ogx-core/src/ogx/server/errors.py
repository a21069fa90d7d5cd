"""The one place where errors become HTTP responses, in the OpenAI error envelope
`{"error": {"message", "type", "param", "code"}}`. Other API families (Anthropic, Google)
register their own envelope for their path prefix."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ogx import validation
from ogx_api import InvalidRequest, OGXError, RateLimited

logger = logging.getLogger(__name__)

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

Envelope = Callable[[OGXError], dict[str, Any]]


def openai_envelope(error: OGXError) -> dict[str, Any]:
    error_type = _OPENAI_TYPES.get(
        error.status_code, "server_error" if error.status_code >= 500 else "invalid_request_error"
    )
    return {"error": {"message": error.message, "type": error_type, "param": error.param, "code": error.code}}


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


def invalid_request(exc: ValidationError, data: Any) -> InvalidRequest:
    found = validation.problems(exc, data)
    # When a union fails, pydantic reports every member; the deepest path is the one to fix.
    path = max((p for p, _ in found), key=lambda p: p.count(".") + p.count("["), default="")
    text = "; ".join(f"{p}: {m}" if p else m for p, m in found[:5])
    if len(found) > 5:
        text += f"; and {len(found) - 5} more"
    return InvalidRequest(text, param=path or None, code="invalid_value" if path else "invalid_request")


class ErrorLayer:
    """Chooses the envelope by path prefix (longest first) and renders typed errors in it."""

    def __init__(self) -> None:
        self._envelopes: list[tuple[str, Envelope]] = []

    def register(self, prefix: str, envelope: Envelope) -> None:
        self._envelopes.append((prefix, envelope))
        self._envelopes.sort(key=lambda item: len(item[0]), reverse=True)

    def envelope_for(self, path: str) -> Envelope:
        for prefix, envelope in self._envelopes:
            if path.startswith(prefix):
                return envelope
        return openai_envelope

    def render(self, request: Request, error: OGXError) -> Response:
        headers = {}
        if isinstance(error, RateLimited) and error.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
        body = self.envelope_for(request.url.path)(error)
        return json_response(body, status_code=error.status_code, headers=headers)

    def install(self, app: FastAPI) -> None:
        async def on_ogx_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, OGXError)
            if exc.status_code >= 500:
                logger.warning("%s %s failed: %r", request.method, request.url.path, exc)
            return self.render(request, exc)

        async def on_validation_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, RequestValidationError)
            errors = exc.errors()
            first = errors[0] if errors else {}
            if first.get("type") == "json_invalid":
                return self.render(
                    request,
                    InvalidRequest(
                        f"request body is not valid JSON: {first.get('ctx', {}).get('error', '')}"
                    ),
                )
            loc = [p for p in first.get("loc", ()) if p not in ("body", "query", "path")]
            param = validation.format_loc(loc) or None
            message = "; ".join(
                f"{validation.format_loc([p for p in e['loc'] if p not in ('body', 'query', 'path')])}: {e['msg']}"
                for e in errors[:5]
            )
            return self.render(request, InvalidRequest(message, param=param, code="invalid_value"))

        async def on_http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, StarletteHTTPException)
            if exc.status_code == 404:
                error: OGXError = OGXError(
                    f"no route for {request.method} {request.url.path}", code="unknown_url", status_code=404
                )
            elif exc.status_code == 405:
                error = OGXError(
                    f"method {request.method} not allowed for {request.url.path}",
                    code="method_not_allowed",
                    status_code=405,
                )
            else:
                error = OGXError(str(exc.detail), status_code=exc.status_code, code="http_error")
            return self.render(request, error)

        async def on_database_error(request: Request, exc: Exception) -> Response:
            if not _is_data_exception(exc):
                return await on_unexpected(request, exc)
            # e.g. PostgreSQL refusing a NUL character in a query parameter bound to a text column
            logger.info("database refused a value from %s %s: %s", request.method, request.url.path, exc)
            return self.render(
                request,
                InvalidRequest(
                    "the request contains a value that cannot be stored or searched (e.g. a NUL character)",
                    code="invalid_value",
                ),
            )

        async def on_unexpected(request: Request, exc: Exception) -> Response:
            logger.exception("unhandled error in %s %s", request.method, request.url.path)
            return self.render(request, OGXError("internal server error", code="internal_error"))

        app.add_exception_handler(OGXError, on_ogx_error)
        app.add_exception_handler(RequestValidationError, on_validation_error)
        app.add_exception_handler(StarletteHTTPException, on_http_error)
        app.add_exception_handler(sa_exc.DBAPIError, on_database_error)
        app.add_exception_handler(Exception, on_unexpected)


def _is_data_exception(exc: Exception) -> bool:
    """SQLSTATE class 22 (data exception): the value, not the server, is at fault."""
    if isinstance(exc, sa_exc.DataError):
        return True
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str) and code.startswith("22"):
            return True
    return False
