"""Per-request provider credentials: the `X-OGX-Provider-Data` header.

A client sends JSON such as `{"vllm_api_key": "..."}`; the server validates it against the
`provider_data_validator` of every configured provider that declares one (a 400 naming the
field if it doesn't fit), then makes it available for the rest of the request. A provider reads
its part with `provider_data(MyProviderData)`. The values are never logged or returned.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ogx_api.errors import InvalidRequest

PROVIDER_DATA_HEADER = "X-OGX-Provider-Data"

M = TypeVar("M", bound=BaseModel)

_current: ContextVar[dict[str, Any] | None] = ContextVar("ogx_provider_data", default=None)


def set_provider_data(data: dict[str, Any] | None) -> Token[dict[str, Any] | None]:
    return _current.set(data)


def reset_provider_data(token: Token[dict[str, Any] | None]) -> None:
    _current.reset(token)


def provider_data_keys() -> frozenset[str]:
    """The top-level keys of this request's `X-OGX-Provider-Data` (empty without the header)."""
    raw = _current.get()
    return frozenset(raw) if raw else frozenset()


def provider_data(model: type[M]) -> M | None:
    """This request's provider data validated as `model`, or None when the client sent none."""
    raw = _current.get()
    if raw is None:
        return None
    return validate_provider_data(model, raw)


def validate_provider_data(model: type[M], raw: dict[str, Any]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        # The input is not echoed: it may hold credentials.
        raise InvalidRequest(
            f"{PROVIDER_DATA_HEADER}: {field}: {first['msg']}",
            param=PROVIDER_DATA_HEADER,
            code="invalid_provider_data",
        ) from None
