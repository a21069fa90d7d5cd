"""Secrets out of what the server returns: `SecretStr` fields and any field whose name says it
holds a credential are replaced by `REDACTED`. URLs: `ogx_api.redaction.redact_url`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from ogx_api.redaction import REDACTED

__all__ = ["REDACTED", "redact", "redact_json", "redact_tool_args"]
_SECRET_WORDS = ("key", "token", "secret", "password", "credential", "authorization")


def redact(config: BaseModel) -> dict[str, Any]:
    """The provider config as JSON with every secret replaced: `SecretStr` fields and any field
    whose name says it holds a credential."""
    return _redact_value(config)


def redact_json(value: Any) -> Any:
    """JSON-ready `value` with every field whose name says it holds a credential replaced."""
    return _redact_value(value)


def redact_tool_args(args: dict[str, Any]) -> dict[str, Any]:
    """A tool group's `args` as they may be kept in plain text: credential-named fields and every
    header value replaced (a header's name does not always say it carries a credential)."""
    public = redact_json(args)
    if isinstance(args.get("headers"), dict):
        public["headers"] = dict.fromkeys(args["headers"], REDACTED)
    return public


def _redact_value(value: Any, name: str = "") -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, BaseModel):
        return {k: _redact_value(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, name) for v in value]
    if (
        value is not None
        and any(word in name.lower() for word in _SECRET_WORDS)
        and not isinstance(value, bool)
    ):
        return REDACTED
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
