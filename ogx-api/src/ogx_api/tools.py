"""The tool-runtime contract: tool definitions, tool results, server references, and the
`ToolRuntimeProvider` protocol (API `tool_runtime`).

A tool runtime lists tools and runs them. A remote runtime (MCP) reaches a server named by an
`McpEndpoint`; a built-in runtime (web search, a code sandbox) takes `endpoint=None`.

The core uses it in two ways::

    # one call (GET /v1/tools, POST /v1/tool-runtime/invoke): a connection per call
    tools = await runtime.list_tools(endpoint)
    result = await runtime.invoke(endpoint, "add", {"a": 1, "b": 2})

    # several calls in one request (the Responses loop): connections opened on first use,
    # reused by every later call to the same server, closed when the block exits
    async with runtime.session() as tools:
        listing = await tools.list_tools(endpoint)
        result = await tools.invoke(endpoint, "add", {"a": 1, "b": 2})

A tool that fails returns a `ToolResult` with `is_error=True` whose text the model can read.
Only failures of the runtime itself raise: `InvalidRequest` (a refused URL, bad headers),
`Unauthorized`/`Forbidden` (the server refused the credentials), `ProviderUnavailable` (the
server cannot be reached or went away), `ProviderTimeout`, `ProviderError` (the server broke
the protocol or answered too much).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ogx_api.provider import BaseProvider, Provider

# -- tools -------------------------------------------------------------------------------------


class ToolDef(BaseModel):
    """A tool as a runtime describes it.

    `input_schema` is the JSON Schema of the arguments object (what an OpenAI function's
    `parameters` holds). `annotations` are behaviour hints (MCP's `readOnlyHint`,
    `destructiveHint`, `idempotentHint`, `openWorldHint`, `title`); `metadata` is anything else
    the runtime knows (MCP's `_meta`, icons, the server's name).
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


# -- results -----------------------------------------------------------------------------------


class TextContent(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["text"] = "text"
    text: str


class ImageContent(BaseModel):
    """An image, base64-encoded."""

    model_config = ConfigDict(frozen=True)

    type: Literal["image"] = "image"
    data: str
    mime_type: str


class JsonContent(BaseModel):
    """Any other content, kept whole as JSON: `kind` is the runtime's own type name (MCP:
    `audio`, `resource`, `resource_link`) and `value` the item itself."""

    model_config = ConfigDict(frozen=True)

    type: Literal["json"] = "json"
    kind: str
    value: Any


ToolContent = Annotated[TextContent | ImageContent | JsonContent, Field(discriminator="type")]


class ToolResult(BaseModel):
    """What one tool call produced.

    `content` is what the model reads; `structured_content` is the machine-readable result when
    the tool declares one (MCP's `structuredContent`, matching the tool's `output_schema`).
    `is_error` marks a failure the model should see (bad arguments, an exception in the tool):
    it is a result, not an exception.
    """

    model_config = ConfigDict(frozen=True)

    content: list[ToolContent] = Field(default_factory=list)
    structured_content: dict[str, Any] | None = None
    is_error: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(content=[TextContent(text=message)], is_error=True)

    def as_text(self) -> str:
        """The result as one string for a model: texts joined by newlines, other items as JSON,
        images as a placeholder naming their type. Falls back to `structured_content` as JSON."""
        parts: list[str] = []
        for item in self.content:
            if isinstance(item, TextContent):
                parts.append(item.text)
            elif isinstance(item, ImageContent):
                parts.append(f"[image: {item.mime_type}]")
            else:
                parts.append(json.dumps(item.value, ensure_ascii=False, default=str))
        if not parts and self.structured_content is not None:
            parts.append(json.dumps(self.structured_content, ensure_ascii=False, default=str))
        return "\n".join(parts)


# -- where the tools are -----------------------------------------------------------------------

FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",  # the `authorization` field carries it, as a secret
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-authenticate",
        "proxy-connection",
        "cookie",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    }
)
"""Header names `McpEndpoint.headers` may not set: transport-level, credentials that have their
own field, and the MCP transport's own."""


class McpEndpoint(BaseModel):
    """A reference to a remote tool server: its URL, the headers to send it, and the credentials.

    `authorization` is the token for the `Authorization` header (`Bearer <token>`; a value that
    already starts with a scheme such as `Bearer ` or `Basic ` is sent as is). It is a secret:
    runtimes never log it, never put it in an error, never return it. `headers` may not carry
    `Authorization` (use the field), hop-by-hop or transport headers.

    `transport` chooses the MCP transport: `auto` tries streamable HTTP and falls back to SSE.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    authorization: SecretStr | None = None
    transport: Literal["auto", "streamable_http", "sse"] = "auto"

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            lowered = name.lower()
            if lowered in FORBIDDEN_HEADERS or lowered.startswith("proxy-"):
                hint = " (use the `authorization` field)" if lowered == "authorization" else ""
                raise ValueError(f"header {name!r} may not be set{hint}")
            if not name or any(c in name for c in " :\r\n\t") or any(c in value for c in "\r\n"):
                raise ValueError(f"header {name!r} is not a valid HTTP header")
        return headers

    def with_headers(
        self, headers: Mapping[str, str] | None = None, *, authorization: str | SecretStr | None = None
    ) -> McpEndpoint:
        """This endpoint with per-request `headers` added (they win over the server's own, names
        compared case-insensitively) and, when given, per-request `authorization`."""
        merged = dict(self.headers)
        for name, value in (headers or {}).items():
            for existing in [key for key in merged if key.lower() == name.lower()]:
                del merged[existing]
            merged[name] = value
        data: dict[str, Any] = {**self.model_dump(exclude={"headers", "authorization"}), "headers": merged}
        data["authorization"] = self.authorization if authorization is None else authorization
        return McpEndpoint.model_validate(data)

    def authorization_header(self) -> str | None:
        """The `Authorization` header value, or None."""
        if self.authorization is None:
            return None
        token = self.authorization.get_secret_value()
        scheme, _, rest = token.partition(" ")
        return token if rest and scheme.isalpha() else f"Bearer {token}"


# -- the protocol ------------------------------------------------------------------------------


class ToolSession(Protocol):
    """A request's connections to tool servers (see `ToolRuntimeProvider.session`)."""

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]: ...

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult: ...


@runtime_checkable
class ToolRuntimeProvider(Provider, Protocol):
    """Lists and runs tools (API `tool_runtime`).

    - `session()`: an async context manager yielding a `ToolSession`; connections it opens are
      reused by every call through it and closed when it exits. The Responses loop opens one
      per request. Calls through one session may run concurrently.
    - `list_tools(endpoint)` and `invoke(endpoint, name, arguments)`: one call in its own session.

    `endpoint` names the server for a remote runtime and is None for a built-in one. Runtimes
    may cache tool lists (per server and credentials); the cache never crosses credentials.
    Errors: see the module docstring.
    """

    def session(self) -> AbstractAsyncContextManager[ToolSession]: ...

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]: ...

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult: ...


class StatelessToolRuntime(BaseProvider):
    """Base of a runtime that keeps no per-request connections (a built-in tool): implement
    `list_tools` and `invoke`; `session()` hands out the runtime itself."""

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        raise NotImplementedError

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        raise NotImplementedError

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ToolSession]:
        yield self
