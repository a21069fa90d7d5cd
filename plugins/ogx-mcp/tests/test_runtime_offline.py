"""The runtime's pieces that need no server: config, the guarded HTTP layer (policy on every
request and reached address, bounded bodies), the tool-list cache, the MCP → OGX mapping and
the error mapping. Offline: HTTP goes to `httpx2.MockTransport`, URLs are IP literals."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import mcp_types
import pytest
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr, ValidationError

from ogx_api.errors import (
    Forbidden,
    InvalidRequest,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from ogx_api.provider import HealthState
from ogx_api.tools import ImageContent, JsonContent, McpEndpoint, TextContent, ToolDef
from ogx_api.url_policy import UrlPolicy
from ogx_mcp.config import MCPTimeouts, MCPToolRuntimeConfig
from ogx_mcp.convert import tool_def, tool_result
from ogx_mcp.errors import classify
from ogx_mcp.http import ConnectionGuard, ResponseTooLarge, session_client
from ogx_mcp.runtime import ToolListCache, create_provider, endpoint_identity

PUBLIC = "http://93.184.216.34"
TIMEOUT = httpx2.Timeout(5.0)


def guarded(
    handler: Any, policy: UrlPolicy | None = None, limit: int = 64 * 1024
) -> tuple[httpx2.AsyncClient, ConnectionGuard, list[OGXError]]:
    failures: list[OGXError] = []
    guard = ConnectionGuard(policy or UrlPolicy(), limit, on_failure=failures.append)
    client = session_client(httpx2.MockTransport(handler), guard, headers={"X-A": "1"}, timeout=TIMEOUT)
    return client, guard, failures


# -- config --------------------------------------------------------------------------------------


def test_config_defaults_are_safe_and_bounded() -> None:
    config = MCPToolRuntimeConfig()
    assert config.url_policy == UrlPolicy()
    assert not config.url_policy.allow_loopback and not config.url_policy.allow_private_networks
    assert (config.timeouts.connect, config.timeouts.call, config.timeouts.total) == (10.0, 60.0, 120.0)


def test_total_timeout_must_cover_the_stages() -> None:
    with pytest.raises(ValidationError, match=r"timeouts.total \(5.0\) must be at least"):
        MCPTimeouts(connect=10, call=1, total=5)
    with pytest.raises(ValidationError, match="extra"):
        MCPToolRuntimeConfig.model_validate({"url": "http://x"})


async def test_health_reflects_the_lifecycle() -> None:
    runtime = create_provider(MCPToolRuntimeConfig(), {})
    assert (await runtime.health()).status == HealthState.error
    await runtime.start()
    assert (await runtime.health()).status == HealthState.ok
    await runtime.close()


async def test_endpoint_is_required() -> None:
    runtime = create_provider(MCPToolRuntimeConfig(), {})
    await runtime.start()
    try:
        with pytest.raises(InvalidRequest, match="needs an MCP endpoint"):
            await runtime.list_tools(None)
    finally:
        await runtime.close()


async def test_refused_url_sends_nothing() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(500)

    runtime = create_provider(MCPToolRuntimeConfig(), {}, transport=httpx2.MockTransport(handler))
    await runtime.start()
    try:
        with pytest.raises(InvalidRequest, match="allow_private_networks") as caught:
            await runtime.invoke(McpEndpoint(uri="http://169.254.169.254/mcp"), "echo", {})
        assert caught.value.param == "mcp_endpoint.uri"
    finally:
        await runtime.close()
    assert sent == []


# -- the guarded HTTP layer ----------------------------------------------------------------------


async def test_every_request_is_checked_including_later_hops() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(200, text="ok")

    client, guard, failures = guarded(handler)
    async with client:
        assert (await client.get(f"{PUBLIC}/mcp")).text == "ok"
        with pytest.raises(InvalidRequest, match="allow_private_networks"):
            await client.get("http://10.0.0.7/mcp")  # a redirect hop or an SSE message endpoint
        with pytest.raises(InvalidRequest):  # and the session sends nothing more
            await client.get(f"{PUBLIC}/mcp")
    assert seen == [f"{PUBLIC}/mcp"]
    assert len(failures) == 1 and guard.failure is failures[0]


async def test_headers_and_no_automatic_redirects() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["x-a"] == "1" and request.headers["user-agent"].startswith("ogx-mcp/")
        return httpx2.Response(307, headers={"location": "http://10.0.0.7/"})

    client, guard, _ = guarded(handler)
    async with client:
        response = await client.get(f"{PUBLIC}/mcp")
    assert response.status_code == 307 and guard.failure is None


class _FakeStream(httpx2.AsyncByteStream):
    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str) -> Any:
        return (self.peer, 80) if name == "server_addr" else None

    async def __aiter__(self):  # type: ignore[override]
        yield b"secret internal answer"


async def test_reached_address_is_checked_against_dns_rebinding() -> None:
    """The name passed the policy when resolved, but the connection reached a private address."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        stream = _FakeStream("10.0.0.7")
        return httpx2.Response(200, stream=stream, extensions={"network_stream": stream})

    client, guard, _ = guarded(handler)
    async with client:
        with pytest.raises(InvalidRequest, match=r"10\.0\.0\.7"):
            await client.get(f"{PUBLIC}/mcp")
    assert isinstance(guard.failure, InvalidRequest)


async def test_plain_bodies_are_bounded_in_total() -> None:
    client, guard, _ = guarded(lambda request: httpx2.Response(200, content=b"x" * 5000), limit=4096)
    async with client:
        with pytest.raises(ResponseTooLarge):
            await client.get(f"{PUBLIC}/mcp")
    assert isinstance(guard.failure, ProviderError) and "max_response_bytes" in guard.failure.message


async def test_event_streams_are_bounded_per_event() -> None:
    small_events = b"".join(b"event: message\ndata: " + b"y" * 1000 + b"\n\n" for _ in range(20))
    headers = {"content-type": "text/event-stream"}

    client, guard, _ = guarded(
        lambda request: httpx2.Response(200, content=small_events, headers=headers), limit=4096
    )
    async with client:
        assert len((await client.get(f"{PUBLIC}/mcp")).content) == len(small_events)
    assert guard.failure is None

    one_big_event = b"data: " + b"z" * 5000 + b"\n\n"
    client, guard, _ = guarded(
        lambda request: httpx2.Response(200, content=one_big_event, headers=headers), limit=4096
    )
    async with client:
        with pytest.raises(ResponseTooLarge):
            await client.get(f"{PUBLIC}/mcp")


async def test_error_statuses_are_recorded() -> None:
    client, guard, _ = guarded(lambda request: httpx2.Response(401))
    async with client:
        await client.post(f"{PUBLIC}/mcp", json={})
    assert guard.error_statuses == [401]


# -- tool list cache -----------------------------------------------------------------------------


def _tools(*names: str) -> list[ToolDef]:
    return [ToolDef(name=name) for name in names]


async def test_cache_expires_after_the_ttl() -> None:
    cache = ToolListCache(ttl=0.05, max_entries=10)
    cache.put("k", "uri", _tools("a"), cache.generation("uri"))
    assert cache.get("k") == _tools("a")
    await asyncio.sleep(0.06)
    assert cache.get("k") is None


def test_invalidation_drops_every_credential_of_the_server_and_blocks_stale_listings() -> None:
    cache = ToolListCache(ttl=60, max_entries=10)
    for key in ("alice", "bob"):
        cache.put(key, "uri", _tools(key), cache.generation("uri"))
    cache.put("other", "other-uri", _tools("o"), 0)
    started = cache.generation("uri")  # a listing starts…
    cache.invalidate("uri")  # …the server says its tools changed…
    cache.put("alice", "uri", _tools("stale"), started)  # …the listing ends: not stored
    assert cache.get("alice") is None and cache.get("bob") is None
    assert cache.get("other") == _tools("o")


def test_cache_is_bounded_and_ttl_zero_disables_it() -> None:
    cache = ToolListCache(ttl=60, max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, key, _tools(key), 0)
    assert cache.get("a") is None and cache.get("c") == _tools("c")
    disabled = ToolListCache(ttl=0, max_entries=2)
    disabled.put("a", "a", _tools("a"), 0)
    assert disabled.get("a") is None


def test_endpoint_identity_separates_credentials_and_headers() -> None:
    base = McpEndpoint(
        uri="https://mcp.example.com/mcp", headers={"X-Tenant": "a"}, authorization=SecretStr("t1")
    )
    assert endpoint_identity(base) == endpoint_identity(base.model_copy())
    assert endpoint_identity(base) == endpoint_identity(base.with_headers({"x-tenant": "a"}))
    assert endpoint_identity(base) != endpoint_identity(base.with_headers(authorization=SecretStr("t2")))
    assert endpoint_identity(base) != endpoint_identity(base.with_headers({"X-Tenant": "b"}))
    assert "t1" not in endpoint_identity(base)


# -- mapping -------------------------------------------------------------------------------------


def test_tool_def_keeps_schema_annotations_and_meta() -> None:
    tool = mcp_types.Tool(
        name="search",
        title="Search",
        description="Search the web.",
        input_schema={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        annotations=mcp_types.ToolAnnotations(read_only_hint=True, open_world_hint=True),
        _meta={"vendor": "x"},
    )
    definition = tool_def(tool)
    assert definition.name == "search" and definition.title == "Search"
    assert definition.input_schema["required"] == ["q"]
    assert definition.annotations == {"readOnlyHint": True, "openWorldHint": True}
    assert definition.metadata == {"_meta": {"vendor": "x"}}


def test_tool_result_normalises_every_content_kind() -> None:
    result = tool_result(
        mcp_types.CallToolResult(
            content=[
                mcp_types.TextContent(type="text", text="hi"),
                mcp_types.ImageContent(type="image", data="AAAA", mime_type="image/png"),
                mcp_types.AudioContent(type="audio", data="BBBB", mime_type="audio/wav"),
                mcp_types.ResourceLink(type="resource_link", name="f", uri="file:///f"),
            ],
            structured_content={"ok": True},
            is_error=False,
        )
    )
    assert result.content[:2] == [TextContent(text="hi"), ImageContent(data="AAAA", mime_type="image/png")]
    audio, link = result.content[2:]
    assert isinstance(audio, JsonContent) and audio.kind == "audio" and audio.value["mimeType"] == "audio/wav"
    assert isinstance(link, JsonContent) and link.kind == "resource_link" and link.value["uri"] == "file:///f"
    assert result.structured_content == {"ok": True} and not result.is_error


# -- error mapping -------------------------------------------------------------------------------


def _status_error(status: int) -> httpx2.HTTPStatusError:
    request = httpx2.Request("GET", f"{PUBLIC}/sse?token=s3cret")
    return httpx2.HTTPStatusError("boom", request=request, response=httpx2.Response(status, request=request))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ExceptionGroup("g", [ExceptionGroup("h", [httpx2.ConnectError("refused")])]), ProviderUnavailable),
        (httpx2.ConnectTimeout("slow"), ProviderTimeout),
        (httpx2.ReadTimeout("slow"), ProviderTimeout),
        (httpx2.RemoteProtocolError("eof"), ProviderUnavailable),
        (MCPError(mcp_types.REQUEST_TIMEOUT, "timed out"), ProviderTimeout),
        (MCPError(mcp_types.CONNECTION_CLOSED, "closed"), ProviderUnavailable),
        (MCPError(mcp_types.METHOD_NOT_FOUND, "Not Found"), ProviderError),
        (_status_error(403), Forbidden),
        (_status_error(405), ProviderError),
        (RuntimeError("surprise"), ProviderError),
    ],
)
def test_classify(exc: BaseException, expected: type[OGXError]) -> None:
    error = classify(exc, server=f"{PUBLIC}/sse", guard=None, what="connecting")
    assert type(error) is expected
    assert "s3cret" not in error.message


def test_classify_prefers_the_status_the_guard_saw() -> None:
    guard = ConnectionGuard(UrlPolicy(), 1024)
    guard.error_statuses.append(401)
    error = classify(
        MCPError(mcp_types.INTERNAL_ERROR, "Server returned an error response"),
        server="s",
        guard=guard,
        what="x",
    )
    assert error.status_code == 401
