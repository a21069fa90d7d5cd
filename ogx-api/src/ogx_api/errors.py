"""The typed error hierarchy. Providers and services raise these; only the server turns them
into HTTP responses, in the envelope of the API the client called.

Each class carries what the server needs: the HTTP `status_code`, a machine-readable `code`
and, for request errors, the offending `param`.
"""

from __future__ import annotations


class OGXError(Exception):
    """Base of every error OGX maps to an HTTP response."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code})"


class InvalidRequest(OGXError):
    """The request is malformed or asks for something impossible (400)."""

    status_code = 400
    code = "invalid_request"


class Unauthorized(OGXError):
    """Missing or invalid credentials (401)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(OGXError):
    """The caller may not do this (403)."""

    status_code = 403
    code = "forbidden"


class NotFound(OGXError):
    """A resource named in the request does not exist (404)."""

    status_code = 404
    code = "not_found"


class Conflict(OGXError):
    """The request conflicts with the current state of a resource (409)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(OGXError):
    """The request body or an uploaded file exceeds a configured limit (413)."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(OGXError):
    """Too many requests, here or at the backend (429). `retry_after` is in seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NotImplementedByProvider(OGXError):
    """The provider does not implement this operation (501)."""

    status_code = 501
    code = "not_implemented"


class ProviderError(OGXError):
    """The backend answered with an error or something unusable (502)."""

    status_code = 502
    code = "provider_error"


class ProviderUnavailable(OGXError):
    """The backend cannot be reached (503)."""

    status_code = 503
    code = "provider_unavailable"


class ProviderTimeout(OGXError):
    """The backend did not answer in time (504)."""

    status_code = 504
    code = "provider_timeout"


_CLIENT_ERRORS: dict[int, type[OGXError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for_backend_status(status_code: int, message: str) -> OGXError:
    """The typed error for an HTTP error status a backend returned.

    A backend's 4xx keeps its status and message (the client's request was at fault); a 503
    or 504 says the backend is unavailable or slow and stays so; any other status is a
    `ProviderError` (502) carrying the backend's message.
    """
    if 400 <= status_code < 500:
        cls = _CLIENT_ERRORS.get(status_code, InvalidRequest)
        return cls(message, status_code=status_code)
    if status_code == 503:
        return ProviderUnavailable(f"backend unavailable (503): {message}")
    if status_code == 504:
        return ProviderTimeout(f"backend timed out (504): {message}")
    return ProviderError(f"backend error ({status_code}): {message}")
