"""Secrets out of what the server returns: `SecretStr` fields and any field whose name says it
holds a credential are replaced by `REDACTED`. URLs: `ogx_api.redaction.redact_url`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

from ogx_api.redaction import REDACTED, redact_url

__all__ = ["REDACTED", "redact", "redact_json", "redact_mcp_tool", "redact_tool_args", "redact_tool_uri"]
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


def redact_tool_uri(uri: str) -> str:
    """A tool group's MCP server URI as it may be kept in plain text: `redact_url`'s scheme,
    userinfo marker, host and port, with the path and query hidden as well. `redact_url` keeps
    the path, and a secret in it (`/mcp/<token>/sse`) cannot be recognised."""
    shown = redact_url(uri)
    parts = urlsplit(shown)
    if not parts.scheme:
        return shown  # unparseable
    path = f"/{REDACTED}" if parts.path.strip("/") or parts.query else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def redact_mcp_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A Responses `mcp` tool (JSON) as the response object shows and stores it: without
    `authorization`, header values replaced (whatever its name, a header may carry a
    credential), the server URL's credentials redacted. OpenAI does not keep `authorization`
    either: a client sends its credentials with every request."""
    public = {name: value for name, value in tool.items() if name != "authorization"}
    if isinstance(tool.get("headers"), dict):
        public["headers"] = dict.fromkeys(tool["headers"], REDACTED)
    if isinstance(tool.get("server_url"), str):
        public["server_url"] = redact_url(tool["server_url"])
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
