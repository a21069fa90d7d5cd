"""The tool-runtime conformance suite itself: it passes against a correct in-process runtime (a
`StatelessToolRuntime`, the shape of a built-in runtime), and its checks fail when a runtime
breaks the behaviour they guard."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from ogx_api.errors import ProviderError, ProviderTimeout
from ogx_api.provider import HealthState, HealthStatus
from ogx_api.testing.tool_runtime import ToolRuntimeConformance
from ogx_api.tools import (
    ImageContent,
    McpEndpoint,
    StatelessToolRuntime,
    TextContent,
    ToolDef,
    ToolResult,
    ToolRuntimeProvider,
)

PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
CALL_TIMEOUT = 0.2


def _schema(**properties: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": kind} for name, kind in properties.items()}}


TOOLS = [
    ToolDef(name="echo", description="Echo the text.", input_schema=_schema(text="string")),
    ToolDef(name="add", description="Add.", input_schema=_schema(a="integer", b="integer")),
    ToolDef(name="fail", description="Fail.", input_schema=_schema(message="string")),
    ToolDef(name="sleep", description="Sleep.", input_schema=_schema(seconds="number")),
    ToolDef(name="pixel", description="An image."),
    ToolDef(name="weather", description="Weather.", input_schema=_schema(city="string")),
]


class BuiltinRuntime(StatelessToolRuntime):
    """A correct built-in runtime; `broken` names one behaviour to get wrong."""

    def __init__(self, broken: str | None = None) -> None:
        self.broken = broken

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        return TOOLS[1:] if self.broken == "loses_echo" else list(TOOLS)

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        if tool_name == "echo":
            return ToolResult(content=[TextContent(text=arguments["text"])])
        if tool_name == "add":
            if not all(isinstance(arguments.get(key), int) for key in ("a", "b")):
                if self.broken == "raises_on_bad_arguments":
                    raise ValueError("bad arguments")
                return ToolResult.error("a and b must be integers")
            return ToolResult(content=[TextContent(text=str(arguments["a"] + arguments["b"]))])
        if tool_name == "fail":
            if self.broken == "error_without_flag":
                return ToolResult(content=[TextContent(text=arguments["message"])])
            return ToolResult.error(arguments["message"])
        if tool_name == "sleep":
            if self.broken == "no_timeout":
                await asyncio.sleep(arguments["seconds"])
                return ToolResult(content=[TextContent(text="slept")])
            try:
                async with asyncio.timeout(CALL_TIMEOUT):
                    await asyncio.sleep(arguments["seconds"])
            except TimeoutError:
                raise ProviderTimeout("sleep timed out") from None
        if tool_name == "pixel":
            return ToolResult(content=[ImageContent(data=PIXEL, mime_type="image/png")])
        if tool_name == "weather":
            return ToolResult(structured_content={"city": arguments["city"], "celsius": 20})
        if self.broken == "raises_on_unknown_tool":
            raise ProviderError(f"unknown tool {tool_name}")
        return ToolResult.error(f"unknown tool {tool_name}")


class TestBuiltinRuntimeConformance(ToolRuntimeConformance):
    call_timeout = CALL_TIMEOUT
    timeout_slack = 1.0

    @pytest.fixture
    async def provider(self) -> AsyncIterator[BuiltinRuntime]:
        runtime = BuiltinRuntime()
        await runtime.start()
        yield runtime
        await runtime.close()

    @pytest.fixture
    def endpoint(self) -> None:
        return None


def test_a_stateless_runtime_is_a_tool_runtime_provider() -> None:
    assert isinstance(BuiltinRuntime(), ToolRuntimeProvider)


async def test_stateless_session_hands_out_the_runtime() -> None:
    runtime = BuiltinRuntime()
    async with runtime.session() as session:
        result = await session.invoke(None, "echo", {"text": "x"})
    assert result.as_text() == "x"


BROKEN = [
    ("loses_echo", "test_list_tools_describes_the_tools"),
    ("raises_on_bad_arguments", "test_invalid_arguments_give_an_error_result"),
    ("error_without_flag", "test_failing_tool_gives_an_error_result"),
    ("raises_on_unknown_tool", "test_unknown_tool_gives_an_error_result"),
    ("no_timeout", "test_slow_tool_times_out"),
]


@pytest.mark.parametrize(("broken", "test_name"), BROKEN)
async def test_each_check_fails_for_the_runtime_it_guards_against(broken: str, test_name: str) -> None:
    """Run one suite test against a runtime broken in the way it guards; it must fail."""
    suite = TestBuiltinRuntimeConformance()
    runtime = BuiltinRuntime(broken=broken)
    test = getattr(suite, test_name)
    with pytest.raises((AssertionError, pytest.fail.Exception, ValueError, ProviderError)):
        await test(runtime, None)
