"""The one mapping from botocore's failures to `ogx_api.errors`, keeping Bedrock's message."""

from __future__ import annotations

from typing import Any

from botocore.eventstream import ParserError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from ogx_api import (
    Forbidden,
    InvalidRequest,
    NotFound,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from ogx_api.errors import error_for_backend_status

DEFAULT_RETRY_AFTER = 5.0
"""Seconds a client is asked to wait after Bedrock throttled without a `Retry-After` header
(Bedrock's quotas are per minute; retrying at once would be throttled again)."""

# Bedrock error codes (`x-amzn-ErrorType`, or `:exception-type` inside a ConverseStream) → error.
_BY_CODE: dict[str, type[OGXError]] = {
    "ThrottlingException": RateLimited,
    "ServiceQuotaExceededException": RateLimited,
    "TooManyRequestsException": RateLimited,
    "AccessDeniedException": Forbidden,
    "UnrecognizedClientException": Forbidden,
    "InvalidSignatureException": Forbidden,
    "ExpiredTokenException": Forbidden,
    "ValidationException": InvalidRequest,
    "ResourceNotFoundException": NotFound,
    "ModelTimeoutException": ProviderTimeout,
    "ServiceUnavailableException": ProviderUnavailable,
    "ModelNotReadyException": ProviderUnavailable,
    "InternalServerException": ProviderError,
    "ModelErrorException": ProviderError,
    "ModelStreamErrorException": ProviderError,
}

# Exceptions that can escape a botocore call (or the iteration of its event stream).
BOTO_FAILURES: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, Urllib3HTTPError, ParserError)


def error_for(failure: BaseException, *, secrets: tuple[str, ...] = ()) -> OGXError:
    """The typed error for an exception raised by a botocore client call."""
    error = _error_for(failure)
    for secret in secrets:
        if secret:
            error.message = error.message.replace(secret, "***")
            error.args = (error.message,)
    return error


def _error_for(failure: BaseException) -> OGXError:
    if isinstance(failure, ClientError):
        return _client_error(failure.response)
    if isinstance(failure, ParamValidationError):
        return InvalidRequest(f"Amazon Bedrock request is invalid: {failure}")
    if isinstance(failure, ReadTimeoutError | Urllib3ReadTimeoutError):
        return ProviderTimeout(f"Amazon Bedrock did not answer in time (read_timeout): {failure}")
    if isinstance(failure, ConnectTimeoutError):
        return ProviderUnavailable(f"timed out connecting to Amazon Bedrock (connect_timeout): {failure}")
    if isinstance(failure, EndpointConnectionError | BotoConnectionError | ConnectionClosedError):
        return ProviderUnavailable(f"cannot reach Amazon Bedrock: {failure}")
    if isinstance(failure, NoCredentialsError | PartialCredentialsError | ProfileNotFound):
        return ProviderError(
            f"no usable AWS credentials for Amazon Bedrock ({failure}): configure api_key, "
            "access keys or profile_name, or the standard AWS environment"
        )
    if isinstance(failure, ResponseStreamingError | ProtocolError | ParserError):
        return ProviderError(f"the connection to Amazon Bedrock broke mid-answer: {failure}")
    return ProviderError(f"Amazon Bedrock call failed: {failure}")


def _client_error(response: dict[str, Any]) -> OGXError:
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    # Inside an event stream the code is the member name: `throttlingException`.
    code = code[:1].upper() + code[1:]
    message = str(error.get("Message") or code or "unknown error")
    metadata = response.get("ResponseMetadata") or {}
    status = int(metadata.get("HTTPStatusCode") or 0)
    error_class = _BY_CODE.get(code)
    if error_class is RateLimited:
        return RateLimited(message, retry_after=_retry_after(metadata.get("HTTPHeaders") or {}))
    if error_class is not None:
        return error_class(message)
    if status:
        return error_for_backend_status(status, message)
    return ProviderError(f"Amazon Bedrock error {code}: {message}")


def _retry_after(headers: dict[str, str]) -> float:
    value = headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:  # an HTTP date
        return DEFAULT_RETRY_AFTER
    return max(seconds, 0.0)
