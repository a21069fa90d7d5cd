"""A deterministic in-process tool runtime for tests of code above tool runtimes (the core's
tool groups, a Responses loop) that need MCP-style endpoints without an MCP server.

`inline::fake-tools` serves, for any endpoint, `whoami` (returns the endpoint's URI, headers
and whether an authorization came, as structured content) and `fail`; an endpoint whose URI
contains `unreachable` raises `ProviderUnavailable`, as a server that is down would. Every
endpoint it is called with is recorded in `FakeToolRuntime.seen` (a class-wide list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from ogx_api.errors import InvalidRequest, ProviderUnavailable
from ogx_api.specs import Api, ProviderSpec
from ogx_api.tools import McpEndpoint, StatelessToolRuntime, TextContent, ToolDef, ToolResult

FAKE_TOOLS_PROVIDER_TYPE = "inline::fake-tools"

_TOOLS = [
    ToolDef(
        name="whoami",
        description="What this call carried.",
        input_schema={"type": "object", "properties": {}},
    ),
    ToolDef(
        name="fail",
        description="Always fails.",
        input_schema={"type": "object", "properties": {"message": {"type": "string"}}},
    ),
]


def fake_tools_spec() -> ProviderSpec:
    return ProviderSpec(
        api=Api.tool_runtime,
        provider_type=FAKE_TOOLS_PROVIDER_TYPE,
        config_class="ogx_api.testing.fake_tools:FakeToolsConfig",
        factory="ogx_api.testing.fake_tools:FakeToolRuntime",
        description="Deterministic fake MCP-style tool runtime for tests",
    )


class FakeToolsConfig(BaseModel):
    pass


class FakeToolRuntime(StatelessToolRuntime):
    seen: ClassVar[list[McpEndpoint]] = []

    def __init__(self, config: FakeToolsConfig, deps: Mapping[Any, Any] | None = None) -> None:
        self.config = config

    def _reach(self, endpoint: McpEndpoint | None) -> McpEndpoint:
        if endpoint is None:
            raise InvalidRequest("the fake tool runtime needs an mcp_endpoint", param="mcp_endpoint")
        FakeToolRuntime.seen.append(endpoint)
        if "unreachable" in endpoint.uri:
            raise ProviderUnavailable("cannot connect to the MCP server (fake)")
        return endpoint

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        self._reach(endpoint)
        return list(_TOOLS)

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        reached = self._reach(endpoint)
        if tool_name == "whoami":
            return ToolResult(
                content=[TextContent(text=reached.uri)],
                structured_content={
                    "uri": reached.uri,
                    "headers": dict(reached.headers),
                    "authorization": reached.authorization_header(),
                    "arguments": dict(arguments),
                },
            )
        if tool_name == "fail":
            return ToolResult.error(str(arguments.get("message", "the tool failed")))
        return ToolResult.error(f"unknown tool {tool_name!r}")
