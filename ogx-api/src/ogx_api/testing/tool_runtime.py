"""The tool-runtime conformance suite.

A runtime proves itself by subclassing `ToolRuntimeConformance` in its own tests and supplying
fixtures; every test here then runs against it::

    import pytest
    from ogx_api.testing.tool_runtime import ToolRuntimeConformance

    @pytest.mark.integration
    class TestMyRuntimeConformance(ToolRuntimeConformance):
        call_timeout = 1.0                    # what the provider fixture configures

        @pytest.fixture
        async def provider(self):
            provider = MyRuntime(MyConfig(call_timeout=self.call_timeout))
            await provider.start()
            yield provider
            await provider.close()

        @pytest.fixture
        def endpoint(self, my_server):
            return McpEndpoint(uri=my_server.url)   # None for a built-in runtime

The endpoint must serve these tools (rename them with the `*_tool` class attributes):

- `echo(text: str)`: returns `text` as a text item;
- `add(a: int, b: int)`: returns the sum (as text, and optionally structured);
- `fail(message: str)`: fails; the error result's text contains `message`;
- `sleep(seconds: float)`: answers after `seconds` (for the timeout test);
- `pixel()`: an image item (unless `supports_images = False`);
- `weather(city: str)`: `structured_content` with a `city` key (unless
  `supports_structured_content = False`).

Every capability is assumed until a flag turns it off, so a gap shows up as a failure rather
than a silent skip. Each docstring says what to check when the test fails.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any, ClassVar

import pytest

from ogx_api.errors import OGXError, ProviderTimeout
from ogx_api.provider import HealthState
from ogx_api.tools import ImageContent, McpEndpoint, TextContent, ToolDef, ToolResult, ToolRuntimeProvider


def text_of(result: ToolResult) -> str:
    return "\n".join(item.text for item in result.content if isinstance(item, TextContent))


class ToolRuntimeConformance:
    """Base class of a runtime's conformance tests. See the module docstring."""

    echo_tool: ClassVar[str] = "echo"
    add_tool: ClassVar[str] = "add"
    failing_tool: ClassVar[str] = "fail"
    slow_tool: ClassVar[str] = "sleep"
    image_tool: ClassVar[str] = "pixel"
    structured_tool: ClassVar[str] = "weather"

    supports_images: ClassVar[bool] = True
    """Tools can return images (`ImageContent`)."""
    supports_structured_content: ClassVar[bool] = True
    """Tools can return `structured_content`."""
    supports_timeout: ClassVar[bool] = True
    """The runtime bounds a call by `call_timeout` and raises `ProviderTimeout`."""

    call_timeout: ClassVar[float] = 1.0
    """The per-call timeout the `provider` fixture configures (seconds)."""
    timeout_slack: ClassVar[float] = 5.0
    """How much longer than `call_timeout` a timed-out call may take to raise."""

    # -- fixtures the subclass supplies --------------------------------------------------

    @pytest.fixture
    def provider(self) -> ToolRuntimeProvider:
        pytest.fail(f"{type(self).__name__} must define a `provider` fixture yielding a started runtime")

    @pytest.fixture
    def endpoint(self) -> McpEndpoint | None:
        pytest.fail(
            f"{type(self).__name__} must define an `endpoint` fixture: the McpEndpoint of a server "
            "serving the suite's tools, or None for a built-in runtime"
        )

    def _require(self, flag: str) -> None:
        if not getattr(self, flag):
            pytest.skip(f"{type(self).__name__}.{flag} is False")

    # -- lifecycle and listing -----------------------------------------------------------

    async def test_protocol_and_health(self, provider: ToolRuntimeProvider) -> None:
        """The runtime implements `ToolRuntimeProvider` and reports OK when started.

        If this fails: check that `session()`, `list_tools()`, `invoke()`, `start()`, `close()`
        and `health()` all exist, and that `health()` returns `HealthState.ok` after `start()`."""
        assert isinstance(provider, ToolRuntimeProvider)
        status = await provider.health()
        assert status.status == HealthState.ok, status

    async def test_list_tools_describes_the_tools(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """`list_tools` returns `ToolDef`s with unique names, the suite's tools among them, each
        with an object input schema naming its parameters.

        If this fails: check the mapping of the server's tool list (name, description, input
        schema) and pagination (every page must be read)."""
        tools = await provider.list_tools(endpoint)
        assert all(isinstance(tool, ToolDef) for tool in tools), tools
        names = [tool.name for tool in tools]
        assert len(names) == len(set(names)), f"duplicate tool names: {names}"
        by_name = {tool.name: tool for tool in tools}
        for name in (self.echo_tool, self.add_tool, self.failing_tool):
            assert name in by_name, f"{name!r} not in {sorted(by_name)}"
        echo = by_name[self.echo_tool]
        assert echo.description, "the echo tool lost its description"
        assert echo.input_schema.get("type") == "object", echo.input_schema
        assert "text" in echo.input_schema.get("properties", {}), echo.input_schema
        assert set(by_name[self.add_tool].input_schema.get("properties", {})) >= {"a", "b"}

    async def test_list_tools_twice_gives_the_same_tools(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """A second listing (served from a cache or not) equals the first.

        If this fails: check that cached tool lists are not mutated by callers and are keyed by
        the endpoint (URI, headers and credentials)."""
        first = await provider.list_tools(endpoint)
        second = await provider.list_tools(endpoint)
        assert [tool.model_dump() for tool in first] == [tool.model_dump() for tool in second]

    # -- invoking ------------------------------------------------------------------------

    async def test_invoke_returns_text(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """`echo` answers with its argument as a text item and `is_error` false.

        If this fails: check that arguments reach the tool unchanged and that text content is
        mapped to `TextContent`."""
        result = await provider.invoke(endpoint, self.echo_tool, {"text": "héllo, wörld"})
        assert isinstance(result, ToolResult), result
        assert not result.is_error, result
        assert text_of(result) == "héllo, wörld"

    async def test_invoke_computes(self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None) -> None:
        """`add(2, 40)` answers 42 in its text.

        If this fails: check that integer arguments keep their JSON type on the way."""
        result = await provider.invoke(endpoint, self.add_tool, {"a": 2, "b": 40})
        assert not result.is_error, result
        assert "42" in result.as_text(), result

    async def test_invalid_arguments_give_an_error_result(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """Arguments that do not fit the input schema give a result with `is_error` true and a
        message for the model, not an exception (which would become an HTTP error).

        If this fails with an exception: check that the server's validation error (an error
        result, or a JSON-RPC error to `tools/call`) becomes `ToolResult(is_error=True)`."""
        result = await provider.invoke(endpoint, self.add_tool, {"a": "not a number"})
        assert result.is_error, result
        assert result.as_text(), "the error result has no message for the model"

    async def test_failing_tool_gives_an_error_result(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """A tool that fails gives `is_error` true with its message, not an exception.

        If this fails: check the mapping of the server's `isError` and that its text is kept."""
        result = await provider.invoke(endpoint, self.failing_tool, {"message": "the disk is on fire"})
        assert result.is_error, result
        assert "the disk is on fire" in result.as_text(), result

    async def test_unknown_tool_gives_an_error_result(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """Calling a tool the server does not have gives an error result the model can read
        (models do call tools that do not exist).

        If this fails with an exception: map the server's "unknown tool" answer (an error
        result or a JSON-RPC error) to `ToolResult(is_error=True)`."""
        result = await provider.invoke(endpoint, "no_such_tool_anywhere", {})
        assert result.is_error, result
        assert result.as_text()

    async def test_image_content(self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None) -> None:
        """An image comes back as `ImageContent` with base64 data and an image MIME type.

        If this fails: check the mapping of image content (MCP's `data` and `mimeType`)."""
        self._require("supports_images")
        result = await provider.invoke(endpoint, self.image_tool, {})
        assert not result.is_error, result
        images = [item for item in result.content if isinstance(item, ImageContent)]
        assert images, f"no image in {result.content}"
        assert images[0].mime_type.startswith("image/"), images[0].mime_type
        assert base64.b64decode(images[0].data, validate=True), "the image data is not base64"

    async def test_structured_content(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """A tool with an output schema returns `structured_content` (a JSON object).

        If this fails: check that MCP's `structuredContent` is carried into the result."""
        self._require("supports_structured_content")
        result = await provider.invoke(endpoint, self.structured_tool, {"city": "Oslo"})
        assert not result.is_error, result
        assert isinstance(result.structured_content, dict), result
        assert result.structured_content.get("city") == "Oslo", result.structured_content

    async def test_results_round_trip_as_json(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """Results serialise to JSON and back unchanged (the server stores and streams them).

        If this fails: a content item holds something that is not JSON (bytes, a model)."""
        result = await provider.invoke(endpoint, self.echo_tool, {"text": "round trip"})
        assert ToolResult.model_validate_json(result.model_dump_json()) == result

    # -- sessions ------------------------------------------------------------------------

    async def test_session_serves_several_calls_concurrently(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """In one `session()`, calls in sequence and at the same time (as parallel tool calls
        are run) all succeed, and listing works alongside.

        If this fails: check that the session's connection can be used from several tasks and
        that opening it once is shared by concurrent first calls."""
        async with provider.session() as session:
            tools = await session.list_tools(endpoint)
            assert self.echo_tool in {tool.name for tool in tools}
            first = await session.invoke(endpoint, self.echo_tool, {"text": "one"})
            assert text_of(first) == "one"
            results = await asyncio.gather(
                *(session.invoke(endpoint, self.echo_tool, {"text": f"call {i}"}) for i in range(4))
            )
            assert [text_of(result) for result in results] == [f"call {i}" for i in range(4)]

    async def test_error_result_does_not_break_the_session(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """After a failing tool, the same session still serves calls.

        If this fails: an error result must not close or poison the session."""
        async with provider.session() as session:
            failed = await session.invoke(endpoint, self.failing_tool, {"message": "boom"})
            assert failed.is_error
            after = await session.invoke(endpoint, self.echo_tool, {"text": "still here"})
            assert text_of(after) == "still here"

    # -- timeouts ------------------------------------------------------------------------

    async def test_slow_tool_times_out(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """A call slower than `call_timeout` raises `ProviderTimeout` within `call_timeout` +
        `timeout_slack`; the session serves calls afterwards.

        If this fails by hanging: the runtime does not bound the call (check the per-call
        timeout). If it raises something else: map the timeout to `ProviderTimeout`."""
        self._require("supports_timeout")
        bound = self.call_timeout + self.timeout_slack
        async with provider.session() as session:
            started = time.monotonic()
            try:
                async with asyncio.timeout(bound):
                    with pytest.raises(ProviderTimeout):
                        await session.invoke(endpoint, self.slow_tool, {"seconds": bound * 4})
            except TimeoutError:
                pytest.fail(f"the call did not time out within {bound} s: call_timeout is not enforced")
            assert time.monotonic() - started >= self.call_timeout * 0.9, "timed out before call_timeout"
            after = await session.invoke(endpoint, self.echo_tool, {"text": "after the timeout"})
            assert text_of(after) == "after the timeout"

    async def test_errors_are_typed(
        self, provider: ToolRuntimeProvider, endpoint: McpEndpoint | None
    ) -> None:
        """Whatever goes wrong, the runtime raises `OGXError`s or returns error results, never a
        library's exception (which the server would turn into a 500).

        If this fails: find the exception type in the message and map it in the runtime."""
        try:
            result: Any = await provider.invoke(endpoint, self.add_tool, {"a": [], "b": {}})
        except OGXError:
            return
        except Exception as exc:  # any untyped exception is exactly the failure this test reports
            pytest.fail(f"untyped exception {type(exc).__name__}: {exc}")
        assert isinstance(result, ToolResult)
