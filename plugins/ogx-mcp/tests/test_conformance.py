"""`remote::model-context-protocol` passes the tool-runtime conformance suite against real MCP
servers (`mcp_test_server.py`), over streamable HTTP and over SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, ClassVar

import pytest

from ogx_api.testing.tool_runtime import ToolRuntimeConformance
from ogx_api.tools import McpEndpoint
from ogx_api.url_policy import UrlPolicy
from ogx_mcp.config import MCPTimeouts, MCPToolRuntimeConfig
from ogx_mcp.runtime import MCPToolRuntime, create_provider

if TYPE_CHECKING:
    from conftest import McpTestServer


@pytest.mark.integration
class TestStreamableHTTPConformance(ToolRuntimeConformance):
    transport: ClassVar[str] = "streamable-http"
    call_timeout = 1.0

    @pytest.fixture
    async def provider(self) -> AsyncIterator[MCPToolRuntime]:
        config = MCPToolRuntimeConfig(
            url_policy=UrlPolicy(allow_loopback=True),
            timeouts=MCPTimeouts(connect=5, call=self.call_timeout, total=10),
        )
        provider = create_provider(config, {})
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def endpoint(self, mcp_servers: dict[str, McpTestServer]) -> McpEndpoint:
        return McpEndpoint(uri=mcp_servers[self.transport].url)


@pytest.mark.integration
class TestSSEConformance(TestStreamableHTTPConformance):
    transport = "sse"
