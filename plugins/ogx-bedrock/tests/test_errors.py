"""botocore failures that the stub cannot provoke map to typed errors too (each exception is a
real botocore/urllib3 instance, built the way botocore builds it)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from urllib3.exceptions import ProtocolError

from ogx_api import (
    Conflict,
    InvalidRequest,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from ogx_bedrock.errors import DEFAULT_RETRY_AFTER, error_for


def client_error(code: str, message: str, status: int | None = None, **headers: str) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
    return ClientError(response, "Converse")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failure", "expected", "fragment"),
    [
        (ParamValidationError(report="Invalid length for parameter modelId"), InvalidRequest, "modelId"),
        (ReadTimeoutError(endpoint_url="https://bedrock"), ProviderTimeout, "read_timeout"),
        (ConnectTimeoutError(endpoint_url="https://bedrock"), ProviderUnavailable, "connect_timeout"),
        (EndpointConnectionError(endpoint_url="https://bedrock"), ProviderUnavailable, "https://bedrock"),
        (NoCredentialsError(), ProviderError, "no usable AWS credentials"),
        (ResponseStreamingError(error="reset"), ProviderError, "broke mid-answer"),
        (ProtocolError("Connection broken"), ProviderError, "broke mid-answer"),
        (client_error("ConflictException", "already exists", 409), Conflict, "already exists"),
        (client_error("SomethingNew", "odd failure", 500), ProviderError, "odd failure"),
        (client_error("SomethingNew", "no status"), ProviderError, "SomethingNew: no status"),
    ],
)
def test_failure_mapping(failure: BaseException, expected: type[OGXError], fragment: str) -> None:
    error = error_for(failure)
    assert type(error) is expected
    assert fragment in error.message


def test_stream_exception_codes_are_normalised() -> None:
    failure = EventStreamError(
        {"Error": {"Code": "serviceUnavailableException", "Message": "busy"}}, "ConverseStream"
    )
    error = error_for(failure)
    assert type(error) is ProviderUnavailable and error.message == "busy"


@pytest.mark.parametrize(
    ("header", "retry_after"), [("12", 12.0), ("Wed, 21 Oct 2015 07:28:00 GMT", DEFAULT_RETRY_AFTER)]
)
def test_retry_after_header(header: str, retry_after: float) -> None:
    error = error_for(client_error("ThrottlingException", "slow down", 429, **{"retry-after": header}))
    assert isinstance(error, RateLimited) and error.retry_after == retry_after


def test_secrets_are_redacted() -> None:
    error = error_for(
        client_error("ValidationException", "bad key sk-secret-1 here", 400), secrets=("sk-secret-1",)
    )
    assert error.message == "bad key *** here" and str(error) == "bad key *** here"
