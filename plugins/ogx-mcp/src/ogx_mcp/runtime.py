"""The `remote::model-context-protocol` tool runtime.

`MCPToolRuntime.session()` is the per-request scope: the first call to a server opens an MCP
session with it (`ServerConnection`), later calls in the scope reuse it, and leaving the scope
closes them all. `list_tools` and `invoke` on the runtime itself run in a scope of their own.
Tool lists are cached per (server, headers, credentials) for `tool_list_ttl` seconds and
dropped when a server announces `notifications/tools/list_changed`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types
from mcp import ClientSession
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from ogx_api.errors import InvalidRequest, OGXError, ProviderTimeout
from ogx_api.provider import BaseProvider, HealthState, HealthStatus
from ogx_api.redaction import redact_logged_urls, redact_url
from ogx_api.request_context import PROVIDER_DATA_HEADER, provider_data
from ogx_api.tools import McpEndpoint, ToolDef, ToolResult, ToolSession
from ogx_mcp.config import MCPProviderData, MCPToolRuntimeConfig
from ogx_mcp.connection import ServerConnection, Transport
from ogx_mcp.convert import tool_def, tool_result
from ogx_mcp.errors import classify, is_server_answer

logger = logging.getLogger(__name__)

MAX_TOOL_PAGES = 100
# The loggers below this runtime that write the URLs they call (httpx2: every request at INFO).
URL_LOGGERS = ("httpx2", "mcp.client.streamable_http", "mcp.client.sse")


def endpoint_identity(endpoint: McpEndpoint) -> str:
    """A digest of everything that can change what a server answers: URI, headers,
    credentials and transport. Keys sessions and cached tool lists, so neither crosses
    credentials, without keeping the credentials themselves as keys."""
    authorization = endpoint.authorization.get_secret_value() if endpoint.authorization else None
    material = [endpoint.uri, sorted((k.lower(), v) for k, v in endpoint.headers.items()), authorization]
    material.append(endpoint.transport)
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


class ToolListCache:
    """Tool lists per endpoint identity, with a TTL, a size bound and per-server invalidation.

    A listing that started before an invalidation of its server is not stored when it ends,
    so a `list_changed` notification racing a `tools/list` cannot leave a stale list behind."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float, list[ToolDef]]] = OrderedDict()
        self._generations: dict[str, int] = {}

    def get(self, key: str) -> list[ToolDef] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def generation(self, uri: str) -> int:
        return self._generations.get(uri, 0)

    def put(self, key: str, uri: str, tools: list[ToolDef], generation: int) -> None:
        if self._ttl <= 0 or generation != self.generation(uri):
            return
        self._entries[key] = (uri, time.monotonic() + self._ttl, tools)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, uri: str) -> None:
        self._generations[uri] = self.generation(uri) + 1
        for key in [key for key, entry in self._entries.items() if entry[0] == uri]:
            del self._entries[key]


class MCPToolSession:
    """The per-request scope (a `ToolSession`): one MCP session per server, opened on first use.
    Use it through `MCPToolRuntime.session()`."""

    def __init__(self, runtime: MCPToolRuntime) -> None:
        self._runtime = runtime
        self._connections: dict[str, asyncio.Task[ServerConnection]] = {}
        self._identities: dict[int, tuple[McpEndpoint, str]] = {}
        self._closed = False

    def _identity(self, endpoint: McpEndpoint) -> str:
        # The Responses loop passes the same endpoint object call after call: hash it once.
        known = self._identities.get(id(endpoint))
        if known is None or known[0] is not endpoint:
            known = self._identities[id(endpoint)] = (endpoint, endpoint_identity(endpoint))
        return known[1]

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        endpoint = self._runtime.effective_endpoint(endpoint)
        key = self._identity(endpoint)
        cache = self._runtime.tool_lists
        cached = cache.get(key)
        if cached is not None:
            return cached
        generation = cache.generation(endpoint.uri)
        tools = await self._run(endpoint, key, "tools/list", _list_all_tools)
        definitions = [tool_def(tool) for tool in tools]
        cache.put(key, endpoint.uri, definitions, generation)
        return definitions

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        endpoint = self._runtime.effective_endpoint(endpoint)
        call_timeout = self._runtime.config.timeouts.call

        async def call(session: ClientSession) -> mcp_types.CallToolResult:
            # `send_request` rather than `call_tool`: the latter lists the tools first on every new
            # session (to validate structured output), and the result is relayed, not judged here.
            request = mcp_types.CallToolRequest(
                params=mcp_types.CallToolRequestParams(name=tool_name, arguments=dict(arguments))
            )
            return await session.send_request(
                request, mcp_types.CallToolResult, request_read_timeout_seconds=call_timeout
            )

        result = await self._run(endpoint, self._identity(endpoint), f"tools/call {tool_name!r}", call)
        if isinstance(result, ToolResult):
            return result
        return tool_result(result)

    async def _run(self, endpoint: McpEndpoint, key: str, what: str, operation: Any) -> Any:
        """Run `operation(session)` on the server's connection within `timeouts.total`; a tools/call
        the server answers with a JSON-RPC error becomes an error `ToolResult`.

        A connection that fails (other than by a timeout) is dropped, so the next call opens a
        new session: a long-lived scope recovers from a server that restarted. When a reused
        session had ended before the call reached the server (no response acknowledged it, or
        the server answered 404: it restarted or expired the session), the call is sent once
        more on a new session. (MCP servers acknowledge a request before running the tool:
        SSE answers 202, streamable HTTP opens its event stream.)"""
        if self._closed:
            raise RuntimeError("this tool session is closed")
        timeouts = self._runtime.config.timeouts
        try:
            async with asyncio.timeout(timeouts.total):
                for attempt in (1, 2):
                    connection, opened_here = await self._connection(endpoint, key)
                    before = len(connection.guard.error_statuses)
                    answered_before = connection.guard.responses_received
                    try:
                        return await connection.request(operation)
                    except MCPError as exc:
                        if what.startswith("tools/call") and is_server_answer(exc, connection.guard, before):
                            return ToolResult.error(f"MCP error {exc.code}: {exc.message}")
                        error = connection.failure or self._classify(exc, endpoint, connection, before, what)
                    except OGXError as exc:
                        error = exc
                    except Exception as exc:  # the SDK raises many types: classified, typed
                        error = connection.failure or self._classify(exc, endpoint, connection, before, what)
                    if not isinstance(error, ProviderTimeout):
                        connection.fail(error)
                    if attempt == 1 and not opened_here and _never_ran(connection, before, answered_before):
                        logger.info("the MCP session with %s had ended; opening a new one", connection.server)
                        continue
                    raise error
                raise AssertionError("unreachable")
        except TimeoutError:
            raise ProviderTimeout(
                f"{what} on the MCP server at {redact_url(endpoint.uri)} took longer than {timeouts.total} s "
                "(timeouts.total)"
            ) from None

    @staticmethod
    def _classify(
        exc: BaseException, endpoint: McpEndpoint, connection: ServerConnection, before: int, what: str
    ) -> OGXError:
        return classify(
            exc, server=redact_url(endpoint.uri), guard=connection.guard, statuses_before=before, what=what
        )

    async def _connection(self, endpoint: McpEndpoint, key: str) -> tuple[ServerConnection, bool]:
        """The open connection for `key`, opening it once however many callers ask at a time, and
        whether this call opened it."""
        opening = self._connections.get(key)
        if opening is not None and opening.done() and not _usable(opening):
            del self._connections[key]  # failed or died: a later call may find the server back
            opening = None
        opened_here = opening is None
        if opening is None:
            opening = asyncio.ensure_future(self._runtime.connect(endpoint))
            self._connections[key] = opening
        return await asyncio.shield(opening), opened_here

    async def forget(self, endpoint: McpEndpoint) -> None:
        """Close this scope's session with the server of `endpoint` (the server keeps a
        long-lived scope; a deleted tool group's session should not stay open in it)."""
        opening = self._connections.pop(endpoint_identity(endpoint), None)
        if opening is None:
            return
        if not opening.done():
            opening.cancel()
        results = await asyncio.gather(opening, return_exceptions=True)
        if isinstance(results[0], ServerConnection):
            await results[0].close()

    async def aclose(self) -> None:
        self._closed = True
        openings = list(self._connections.values())
        self._connections.clear()
        for opening in openings:
            if not opening.done():
                opening.cancel()
        results = await asyncio.gather(*openings, return_exceptions=True)
        connections = [result for result in results if isinstance(result, ServerConnection)]
        await asyncio.gather(*(connection.close() for connection in connections), return_exceptions=True)


def _never_ran(connection: ServerConnection, statuses_before: int, answered_before: int) -> bool:
    """Whether the failed call cannot have run: no response of the server acknowledged it (a
    pooled connection to a process that is gone), or the server did not know the session."""
    guard = connection.guard
    return guard.responses_received == answered_before or 404 in guard.error_statuses[statuses_before:]


def _usable(opening: asyncio.Task[ServerConnection]) -> bool:
    return not opening.cancelled() and opening.exception() is None and opening.result().alive


async def _list_all_tools(session: ClientSession) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.send_request(
            mcp_types.ListToolsRequest(params=params), mcp_types.ListToolsResult
        )
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise InvalidRequest(f"the tool list has more than {MAX_TOOL_PAGES} pages")


class MCPToolRuntime(BaseProvider):
    """A `ToolRuntimeProvider` for MCP servers. See the module docstring."""

    def __init__(
        self, config: MCPToolRuntimeConfig, *, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.tool_lists = ToolListCache(config.tool_list_ttl, config.tool_list_cache_size)
        self._injected_transport = transport
        self._pool: httpx2.AsyncBaseTransport | None = None
        self._transports: OrderedDict[str, Transport] = OrderedDict()
        self._sessions: set[MCPToolSession] = set()

    async def start(self) -> None:
        redact_logged_urls(*URL_LOGGERS)  # a server URL may carry credentials in its query
        if self._pool is None:
            self._pool = self._injected_transport or httpx2.AsyncHTTPTransport(
                verify=self.config.verify_tls,
                limits=httpx2.Limits(
                    max_connections=self.config.max_connections,
                    max_keepalive_connections=self.config.max_connections,
                ),
            )

    async def close(self) -> None:
        sessions = list(self._sessions)
        await asyncio.gather(*(session.aclose() for session in sessions), return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None and pool is not self._injected_transport:
            await pool.aclose()

    async def health(self) -> HealthStatus:
        if self._pool is None:
            return HealthStatus(status=HealthState.error, message="not started")
        return HealthStatus(status=HealthState.ok, message="MCP servers are reached per request")

    # -- the ToolRuntimeProvider protocol ------------------------------------------------------

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ToolSession]:
        scope = MCPToolSession(self)
        self._sessions.add(scope)
        try:
            yield scope
        finally:
            self._sessions.discard(scope)
            await asyncio.shield(scope.aclose())

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        async with self.session() as scope:
            return await scope.list_tools(endpoint)

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        async with self.session() as scope:
            return await scope.invoke(endpoint, tool_name, arguments)

    # -- used by sessions ----------------------------------------------------------------------

    def effective_endpoint(self, endpoint: McpEndpoint | None) -> McpEndpoint:
        """`endpoint` with this request's `X-OGX-Provider-Data` headers and credentials for it."""
        if endpoint is None:
            raise InvalidRequest(
                "the MCP tool runtime needs an MCP endpoint (a server URI)", param="mcp_endpoint"
            )
        data = provider_data(MCPProviderData)
        if data is None:
            return endpoint
        headers = data.mcp_headers.get(endpoint.uri)
        authorization = data.mcp_authorization.get(endpoint.uri)
        if headers is None and authorization is None:
            return endpoint
        try:
            return endpoint.with_headers(headers, authorization=authorization)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            raise InvalidRequest(
                f"{PROVIDER_DATA_HEADER}: mcp_headers for {redact_url(endpoint.uri)}: {message}",
                param=PROVIDER_DATA_HEADER,
            ) from None

    async def connect(self, endpoint: McpEndpoint) -> ServerConnection:
        if self._pool is None:
            raise RuntimeError("the MCP tool runtime is not started")
        await self.config.url_policy.check(endpoint.uri, param="mcp_endpoint.uri")
        uri = endpoint.uri
        connection = ServerConnection(
            endpoint,
            pool=self._pool,
            policy=self.config.url_policy,
            timeouts=self.config.timeouts,
            max_response_bytes=self.config.max_response_bytes,
            known_transport=self._transports.get(uri),
            on_tools_changed=lambda: self.tool_lists.invalidate(uri),
        )
        await connection.open()
        if endpoint.transport == "auto" and connection.transport is not None:
            self._transports[uri] = connection.transport
            self._transports.move_to_end(uri)
            while len(self._transports) > self.config.tool_list_cache_size:
                self._transports.popitem(last=False)
        return connection


def create_provider(
    config: MCPToolRuntimeConfig,
    deps: Mapping[Any, Any],
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> MCPToolRuntime:
    """The factory named in the plugin's `ProviderSpec`. `transport` replaces the pooled HTTP
    transport (tests pass an `httpx2.MockTransport`)."""
    return MCPToolRuntime(config, transport=transport)
