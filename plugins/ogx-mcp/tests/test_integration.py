"""`remote::model-context-protocol` against real MCP servers (`mcp_test_server.py`, started in
subprocesses), over streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from ogx_api.errors import InvalidRequest, ProviderError, ProviderTimeout, ProviderUnavailable, Unauthorized
from ogx_api.request_context import reset_provider_data, set_provider_data
from ogx_api.tools import ImageContent, JsonContent, McpEndpoint, TextContent
from ogx_api.url_policy import UrlPolicy
from ogx_mcp.config import MCPToolRuntimeConfig
from ogx_mcp.runtime import MCPToolRuntime, create_provider

if TYPE_CHECKING:
    from conftest import McpTestServer

pytestmark = pytest.mark.integration

LOOPBACK = UrlPolicy(allow_loopback=True)
TRANSPORTS = ["streamable-http", "sse"]


async def started(**config: Any) -> MCPToolRuntime:
    settings: dict[str, Any] = {"url_policy": LOOPBACK, "timeouts": {"connect": 5, "call": 5, "total": 10}}
    runtime = create_provider(MCPToolRuntimeConfig.model_validate(settings | config), {})
    await runtime.start()
    return runtime


@pytest.fixture
async def runtime() -> AsyncIterator[MCPToolRuntime]:
    runtime = await started()
    yield runtime
    await runtime.close()


@pytest.fixture(params=TRANSPORTS)
def server(request: pytest.FixtureRequest, mcp_servers: dict[str, McpTestServer]) -> McpTestServer:
    return mcp_servers[request.param]


def endpoint_of(server: McpTestServer, **fields: Any) -> McpEndpoint:
    return McpEndpoint(uri=server.url, **fields)


# -- list and call -----------------------------------------------------------------------------


async def test_list_tools_maps_names_descriptions_and_schemas(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    tools = {tool.name: tool for tool in await runtime.list_tools(endpoint_of(server))}
    assert {"add", "echo", "fail", "whoami", "pixel", "weather", "sleep"} <= set(tools)
    add = tools["add"]
    assert add.description == "Add two integers."
    assert add.input_schema["type"] == "object"
    assert add.input_schema["properties"]["a"]["type"] == "integer"
    assert add.input_schema["required"] == ["a", "b"]
    assert add.output_schema is not None and "result" in add.output_schema["properties"]


async def test_invoke_returns_text_and_structured_result(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    result = await runtime.invoke(endpoint_of(server), "add", {"a": 20, "b": 22})
    assert not result.is_error
    assert result.content == [TextContent(text="42")]
    assert result.structured_content == {"result": 42}


async def test_tool_that_raises_is_an_error_result(runtime: MCPToolRuntime, server: McpTestServer) -> None:
    result = await runtime.invoke(endpoint_of(server), "fail", {"message": "the printer is on fire"})
    assert result.is_error
    assert "the printer is on fire" in result.as_text()


async def test_invalid_arguments_and_unknown_tools_are_error_results(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    invalid = await runtime.invoke(endpoint_of(server), "add", {"a": "x"})
    assert invalid.is_error and "validation error" in invalid.as_text()
    unknown = await runtime.invoke(endpoint_of(server), "no_such_tool", {})
    assert unknown.is_error and "no_such_tool" in unknown.as_text()


async def test_json_rpc_error_to_a_call_is_an_error_result(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    result = await runtime.invoke(endpoint_of(server), "protocol_error", {})
    assert result.is_error
    assert result.as_text() == "MCP error -32602: the cursor is stale"


async def test_image_structured_and_resource_content_are_normalised(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    async with runtime.session() as session:
        pixel = await session.invoke(endpoint_of(server), "pixel", {})
        weather = await session.invoke(endpoint_of(server), "weather", {"city": "Oslo"})
        document = await session.invoke(endpoint_of(server), "document", {})
    assert [type(item) for item in pixel.content] == [ImageContent, TextContent]
    image = pixel.content[0]
    assert (
        isinstance(image, ImageContent) and image.mime_type == "image/png" and image.data.startswith("iVBOR")
    )
    assert weather.structured_content == {"city": "Oslo", "celsius": 21.5, "conditions": "sunny"}
    assert document.content[0] == TextContent(text="see the notes")
    resource = document.content[1]
    assert isinstance(resource, JsonContent) and resource.kind == "resource"
    assert resource.value["resource"]["uri"] == "file:///notes.txt"


# -- sessions ----------------------------------------------------------------------------------


async def test_one_mcp_session_per_server_per_scope(runtime: MCPToolRuntime, server: McpTestServer) -> None:
    endpoint = endpoint_of(server)
    async with runtime.session() as session:
        first = await session.invoke(endpoint, "session_id", {})
        concurrent = await asyncio.gather(*(session.invoke(endpoint, "session_id", {}) for _ in range(3)))
        again = await session.invoke(endpoint, "session_id", {})
    assert {result.as_text() for result in [first, again, *concurrent]} == {first.as_text()}
    async with runtime.session() as other:
        assert (await other.invoke(endpoint, "session_id", {})).as_text() != first.as_text()


async def test_forget_closes_the_session_with_a_server(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    endpoint = endpoint_of(server)
    async with runtime.session() as session:
        first = (await session.invoke(endpoint, "session_id", {})).as_text()
        await session.forget(endpoint)  # type: ignore[attr-defined]
        await session.forget(endpoint)  # type: ignore[attr-defined]  (nothing left: a no-op)
        assert (await session.invoke(endpoint, "session_id", {})).as_text() != first


async def test_concurrent_first_calls_open_one_session(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    async with runtime.session() as session:
        results = await asyncio.gather(
            *(session.invoke(endpoint_of(server), "session_id", {}) for _ in range(4))
        )
    assert len({result.as_text() for result in results}) == 1


async def test_auto_falls_back_to_sse_and_remembers(
    runtime: MCPToolRuntime, mcp_servers: dict[str, McpTestServer]
) -> None:
    endpoint = McpEndpoint(uri=mcp_servers["sse"].url)  # transport "auto" tries streamable HTTP first
    assert (await runtime.invoke(endpoint, "echo", {"text": "via sse"})).as_text() == "via sse"
    async with runtime.session() as session:
        await session.invoke(endpoint, "echo", {"text": "again"})
        connection, _ = await session._connection(endpoint, next(iter(session._connections)))  # type: ignore[attr-defined]
        assert connection.transport == "sse"


async def test_explicit_transport_is_used(
    runtime: MCPToolRuntime, mcp_servers: dict[str, McpTestServer]
) -> None:
    streamable = McpEndpoint(uri=mcp_servers["streamable-http"].url, transport="streamable_http")
    sse = McpEndpoint(uri=mcp_servers["sse"].url, transport="sse")
    assert (await runtime.invoke(streamable, "echo", {"text": "a"})).as_text() == "a"
    assert (await runtime.invoke(sse, "echo", {"text": "b"})).as_text() == "b"
    with pytest.raises(ProviderError):
        await runtime.invoke(
            McpEndpoint(uri=mcp_servers["sse"].url, transport="streamable_http"), "echo", {"text": "c"}
        )


# -- headers and credentials -------------------------------------------------------------------


async def test_headers_and_authorization_reach_the_server(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    endpoint = endpoint_of(server, headers={"X-Test": "per-server"}, authorization=SecretStr("s3cret-token"))
    result = await runtime.invoke(endpoint, "whoami", {})
    assert result.structured_content == {"authorization": "Bearer s3cret-token", "x_test": "per-server"}


async def test_per_request_provider_data_headers_win(runtime: MCPToolRuntime, server: McpTestServer) -> None:
    endpoint = endpoint_of(server, headers={"X-Test": "per-server"}, authorization=SecretStr("server-token"))
    token = set_provider_data(
        {
            "mcp_headers": {server.url: {"x-test": "per-request"}},
            "mcp_authorization": {server.url: "request-token"},
        }
    )
    try:
        result = await runtime.invoke(endpoint, "whoami", {})
    finally:
        reset_provider_data(token)
    assert result.structured_content == {"authorization": "Bearer request-token", "x_test": "per-request"}


async def test_reserved_header_in_provider_data_is_invalid_request(
    runtime: MCPToolRuntime, server: McpTestServer
) -> None:
    token = set_provider_data({"mcp_headers": {server.url: {"Authorization": "Bearer x"}}})
    try:
        with pytest.raises(InvalidRequest, match="X-OGX-Provider-Data"):
            await runtime.invoke(endpoint_of(server), "whoami", {})
    finally:
        reset_provider_data(token)


async def test_refused_credentials_are_unauthorized_and_never_leak(
    runtime: MCPToolRuntime, server: McpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    endpoint = endpoint_of(server, authorization=SecretStr("reject-me"))
    with pytest.raises(Unauthorized) as caught:
        await runtime.list_tools(endpoint)
    assert "401" in caught.value.message
    assert "reject-me" not in caught.value.message
    assert "reject-me" not in caplog.text


async def test_tool_lists_are_cached_per_credentials(runtime: MCPToolRuntime, server: McpTestServer) -> None:
    await runtime.list_tools(endpoint_of(server, authorization=SecretStr("good")))
    with pytest.raises(Unauthorized):  # a cached list for one token is not served to another
        await runtime.list_tools(endpoint_of(server, authorization=SecretStr("reject-me")))


# -- failures ----------------------------------------------------------------------------------


async def test_slow_tool_times_out_and_the_session_recovers(server: McpTestServer) -> None:
    runtime = await started(timeouts={"connect": 5, "call": 0.5, "total": 10})
    try:
        async with runtime.session() as session:
            started_at = time.monotonic()
            with pytest.raises(ProviderTimeout, match="timed out"):
                await session.invoke(endpoint_of(server), "sleep", {"seconds": 30})
            assert time.monotonic() - started_at < 5
            assert (await session.invoke(endpoint_of(server), "echo", {"text": "ok"})).as_text() == "ok"
    finally:
        await runtime.close()


async def test_total_timeout_bounds_the_whole_call(server: McpTestServer) -> None:
    runtime = await started(timeouts={"connect": 0.5, "call": 0.5, "total": 0.6})
    try:
        started_at = time.monotonic()
        with pytest.raises(ProviderTimeout):
            await runtime.invoke(endpoint_of(server), "sleep", {"seconds": 30})
        assert time.monotonic() - started_at < 3
    finally:
        await runtime.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("transport", ["auto", "streamable_http", "sse"])
async def test_server_that_never_answers_times_out_on_connect(silent_port: int, transport: str) -> None:
    runtime = await started(timeouts={"connect": 0.5, "call": 5, "total": 10})
    endpoint = McpEndpoint(uri=f"http://127.0.0.1:{silent_port}/mcp", transport=transport)  # type: ignore[arg-type]
    try:
        started_at = time.monotonic()
        with pytest.raises(ProviderTimeout, match=r"timeouts\.connect"):
            await runtime.list_tools(endpoint)
        assert time.monotonic() - started_at < 3
    finally:
        await runtime.close()


async def test_nothing_listening_is_unavailable(runtime: MCPToolRuntime, silent_port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="cannot connect"):
        await runtime.invoke(McpEndpoint(uri=f"http://127.0.0.1:{closed_port}/mcp"), "echo", {"text": "x"})


@pytest.mark.parametrize("fresh_mcp_server", TRANSPORTS, indirect=True)
async def test_server_that_dies_mid_call_is_unavailable_at_once(
    runtime: MCPToolRuntime, fresh_mcp_server: McpTestServer
) -> None:
    endpoint = McpEndpoint(uri=fresh_mcp_server.url)
    async with runtime.session() as session:
        assert (await session.invoke(endpoint, "echo", {"text": "alive"})).as_text() == "alive"
        started_at = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            await session.invoke(endpoint, "die", {})
        assert time.monotonic() - started_at < 4, "the failure waited for a timeout"
        with pytest.raises(ProviderUnavailable):  # and the next call tries again, failing fast
            await session.invoke(endpoint, "echo", {"text": "anyone?"})
    assert fresh_mcp_server.process.wait(timeout=5) == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_long_lived_session_survives_a_server_restart(
    runtime: MCPToolRuntime, start_mcp_server: Callable[..., McpTestServer], transport: str
) -> None:
    server = start_mcp_server(transport)
    endpoint = McpEndpoint(uri=server.url)
    async with runtime.session() as session:
        before = (await session.invoke(endpoint, "session_id", {})).as_text()
        server.stop()
        start_mcp_server(transport, port=server.port)
        started_at = time.monotonic()
        after = await session.invoke(endpoint, "session_id", {})
        assert not after.is_error and after.as_text() != before  # a new session, the call answered
        assert time.monotonic() - started_at < 4, "the recovery waited for a timeout"


async def test_oversized_response_is_refused_and_the_session_recovers(server: McpTestServer) -> None:
    runtime = await started(max_response_bytes=64 * 1024)
    try:
        async with runtime.session() as session:
            small = await session.invoke(endpoint_of(server), "big", {"size": 1000})
            assert small.as_text() == "x" * 1000
            with pytest.raises(ProviderError, match="max_response_bytes"):
                await session.invoke(endpoint_of(server), "big", {"size": 200_000})
            assert (await session.invoke(endpoint_of(server), "echo", {"text": "fine"})).as_text() == "fine"
    finally:
        await runtime.close()


# -- tool list cache ---------------------------------------------------------------------------


@pytest.mark.parametrize("fresh_mcp_server", TRANSPORTS, indirect=True)
async def test_list_changed_notification_invalidates_the_cache(
    runtime: MCPToolRuntime, fresh_mcp_server: McpTestServer
) -> None:
    endpoint = McpEndpoint(uri=fresh_mcp_server.url)
    before = {tool.name for tool in await runtime.list_tools(endpoint)}
    assert "late_tool" not in before
    async with runtime.session() as session:
        assert (await session.invoke(endpoint, "grow", {"name": "late_tool"})).as_text() == "added late_tool"
        for _ in range(50):  # the notification may arrive just after the result
            if runtime.tool_lists.generation(endpoint.uri):
                break
            await asyncio.sleep(0.02)
        after = {tool.name for tool in await session.list_tools(endpoint)}
    assert after == before | {"late_tool"}


async def test_cached_list_is_served_without_the_server(
    runtime: MCPToolRuntime, fresh_mcp_server: McpTestServer
) -> None:
    endpoint = McpEndpoint(uri=fresh_mcp_server.url)
    first = await runtime.list_tools(endpoint)
    fresh_mcp_server.stop()
    assert await runtime.list_tools(endpoint) == first
    uncached = await started(tool_list_ttl=0)
    try:
        with pytest.raises(ProviderUnavailable):
            await uncached.list_tools(endpoint)
    finally:
        await uncached.close()


# -- outbound policy ---------------------------------------------------------------------------


async def test_default_policy_refuses_a_loopback_server(server: McpTestServer) -> None:
    runtime = create_provider(MCPToolRuntimeConfig(), {})
    await runtime.start()
    try:
        with pytest.raises(InvalidRequest, match="allow_loopback") as caught:
            await runtime.invoke(endpoint_of(server), "echo", {"text": "x"})
        assert caught.value.code == "url_refused"
    finally:
        await runtime.close()


async def test_same_origin_redirect_is_followed_and_checked(
    runtime: MCPToolRuntime, mcp_servers: dict[str, McpTestServer]
) -> None:
    server = mcp_servers["streamable-http"]
    moved = McpEndpoint(uri=f"{server.base_url}/moved/mcp", transport="streamable_http")
    assert (await runtime.invoke(moved, "echo", {"text": "moved"})).as_text() == "moved"


async def test_redirect_to_another_origin_is_not_followed(
    runtime: MCPToolRuntime, mcp_servers: dict[str, McpTestServer]
) -> None:
    server = mcp_servers["streamable-http"]
    elsewhere = McpEndpoint(uri=f"{server.base_url}/elsewhere", transport="streamable_http")
    with pytest.raises(ProviderError, match="not followed"):
        await runtime.invoke(elsewhere, "echo", {"text": "x"})
