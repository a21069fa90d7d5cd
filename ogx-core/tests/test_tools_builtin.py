"""`inline::builtin` passes the tool-runtime conformance suite, and its own tools behave."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ogx.tools.builtin import BuiltinToolRuntime, BuiltinToolsConfig
from ogx_api import InvalidRequest
from ogx_api.testing.tool_runtime import ToolRuntimeConformance
from ogx_api.tools import McpEndpoint


class TestBuiltinConformance(ToolRuntimeConformance):
    supports_images = False
    supports_structured_content = False  # it has structured results, but no `weather` tool
    call_timeout = 0.5

    @pytest.fixture
    async def provider(self) -> AsyncIterator[BuiltinToolRuntime]:
        provider = BuiltinToolRuntime(BuiltinToolsConfig(call_timeout=self.call_timeout))
        await provider.start()
        yield provider
        await provider.close()

    @pytest.fixture
    def endpoint(self) -> None:
        return None


async def test_current_time_in_a_time_zone() -> None:
    runtime = BuiltinToolRuntime(BuiltinToolsConfig())
    result = await runtime.invoke(None, "current_time", {"timezone": "Asia/Kolkata"})
    assert not result.is_error
    assert result.as_text().endswith("+05:30")
    assert result.structured_content is not None and result.structured_content["timezone"] == "Asia/Kolkata"
    unknown = await runtime.invoke(None, "current_time", {"timezone": "Mars/Olympus"})
    assert unknown.is_error and "Mars/Olympus" in unknown.as_text()


async def test_builtin_takes_no_endpoint() -> None:
    runtime = BuiltinToolRuntime(BuiltinToolsConfig())
    with pytest.raises(InvalidRequest, match="no mcp_endpoint"):
        await runtime.list_tools(McpEndpoint(uri="http://example.com/mcp"))
