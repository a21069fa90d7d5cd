"""Configuration of the `remote::model-context-protocol` tool runtime."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ogx_api.url_policy import UrlPolicy

Seconds = Annotated[float, Field(gt=0)]


class MCPTimeouts(BaseModel):
    """Seconds allowed for each stage of talking to an MCP server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: Seconds = Field(
        default=10.0, description="Opening a session: TCP/TLS, transport choice and `initialize`."
    )
    call: Seconds = Field(
        default=60.0, description="One request on an open session (`tools/list`, `tools/call`)."
    )
    total: Seconds = Field(
        default=120.0,
        description="One `list_tools` or `invoke` from start to result, opening the session included.",
    )
    idle: Seconds = Field(
        default=300.0,
        description="How long an open session's event stream may stay silent before it is dropped "
        "(a later call opens a new session). Servers on the mcp SDK ping every 15 s.",
    )

    @model_validator(mode="after")
    def _total_covers_the_stages(self) -> MCPTimeouts:
        if self.total < max(self.connect, self.call):
            raise ValueError(
                f"timeouts.total ({self.total}) must be at least timeouts.connect ({self.connect}) "
                f"and timeouts.call ({self.call})"
            )
        return self


class MCPToolRuntimeConfig(BaseModel):
    """How the runtime reaches MCP servers. Which servers it reaches is not configured here: each
    call names its server with an `McpEndpoint` (from a connector, a tool group or a request).

    `url_policy` is checked before connecting and on every connection made (redirect hops and
    the address actually reached). Its defaults refuse loopback and private networks; a
    deployment whose MCP servers run beside it sets `allow_loopback` or `allowed_networks`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeouts: MCPTimeouts = Field(default_factory=MCPTimeouts)
    tool_list_ttl: Annotated[float, Field(ge=0)] = Field(
        default=300.0,
        description="Seconds a server's tool list is cached (per server and credentials); 0 disables "
        "the cache. A `notifications/tools/list_changed` from the server drops it at once.",
    )
    tool_list_cache_size: Annotated[int, Field(ge=1)] = Field(
        default=1024, description="Most (server, credentials) tool lists kept."
    )
    max_response_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=16 * 1024 * 1024,
        description="Largest HTTP response body, or SSE event, accepted from a server.",
    )
    max_connections: Annotated[int, Field(ge=1)] = Field(
        default=100, description="Pooled HTTP connections to MCP servers, all servers together."
    )
    verify_tls: bool = Field(default=True, description="Verify servers' TLS certificates.")
    url_policy: UrlPolicy = Field(default_factory=UrlPolicy)


class MCPProviderData(BaseModel):
    """This provider's part of the `X-OGX-Provider-Data` request header: per-request headers and
    credentials for MCP servers, keyed by the server's URI exactly as the endpoint names it::

        {"mcp_headers": {"https://mcp.example.com/mcp": {"X-Tenant": "acme"}},
         "mcp_authorization": {"https://mcp.example.com/mcp": "token"}}
    """

    model_config = ConfigDict(extra="ignore")

    mcp_headers: dict[str, dict[str, str]] = Field(default_factory=dict)
    mcp_authorization: dict[str, SecretStr] = Field(default_factory=dict)
