"""One MCP session with one server, owned by a task of its own.

The SDK's transports and `ClientSession` are anyio context managers that must be entered and
left by the same task, while a request's tool calls come from whichever task the Responses loop
runs them in (possibly several at once). So each connection runs in a worker task that opens
the transport and session, hands the session out, and closes both when told to; callers send
requests through the session from their own tasks, racing the worker's death so a server that
goes away fails the calls at once instead of at their timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Literal, TypeVar

import httpx2
import mcp_types
from mcp import ClientSession
from mcp.client.session import IncomingMessage
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from ogx_api.errors import OGXError, ProviderError, ProviderTimeout, ProviderUnavailable
from ogx_api.redaction import redact_url
from ogx_api.tools import McpEndpoint
from ogx_api.url_policy import UrlPolicy
from ogx_mcp.config import MCPTimeouts
from ogx_mcp.errors import classify
from ogx_mcp.http import ConnectionGuard, session_client

logger = logging.getLogger(__name__)

Transport = Literal["streamable_http", "sse"]
T = TypeVar("T")

CLIENT_INFO = mcp_types.Implementation(name="ogx", version="0.1.0")
# How long a closing connection may take to say goodbye (session DELETE) before it is cancelled.
CLOSE_GRACE = 2.0


class ServerConnection:
    """An open (or opening) MCP session with the server of `endpoint`."""

    def __init__(
        self,
        endpoint: McpEndpoint,
        *,
        pool: httpx2.AsyncBaseTransport,
        policy: UrlPolicy,
        timeouts: MCPTimeouts,
        max_response_bytes: int,
        known_transport: Transport | None,
        on_tools_changed: Callable[[], None],
    ) -> None:
        self.endpoint = endpoint
        self.server = redact_url(endpoint.uri)
        self.transport: Transport | None = None
        self._pool = pool
        self._timeouts = timeouts
        self._known_transport = known_transport
        self._on_tools_changed = on_tools_changed
        self.guard = ConnectionGuard(policy, max_response_bytes, on_failure=self._fail)
        self._session: ClientSession | None = None
        self._failure: OGXError | None = None
        self._closing = asyncio.Event()
        # Done once the connection can serve no more requests; every call races it.
        self._dead: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    @property
    def failure(self) -> OGXError | None:
        """Why the connection died, once it has."""
        return self._failure

    @property
    def alive(self) -> bool:
        return self._session is not None and not self._dead.done()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and initialize, within `timeouts.connect`. Raises a typed error."""
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(ready), name=f"mcp-session {self.server}")
        try:
            async with asyncio.timeout(self._timeouts.connect):
                self._session = await asyncio.shield(ready)
        except TimeoutError:
            await self.close()
            raise ProviderTimeout(
                f"connecting to the MCP server at {self.server} took longer than "
                f"{self._timeouts.connect} s (timeouts.connect)"
            ) from None
        except BaseException:  # also cancellation: the half-open session's worker is stopped, re-raised
            await self.close()
            raise

    async def close(self) -> None:
        """End the session (politely when it is established) and wait for the worker to finish.
        A session still opening is cancelled at once."""
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        done: set[asyncio.Task[None]] = set()
        if self._session is not None:
            done, _ = await asyncio.wait({task}, timeout=CLOSE_GRACE)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, ready: asyncio.Future[ClientSession]) -> None:
        try:
            async with AsyncExitStack() as stack:
                session = await self._connect(stack)
                if not ready.done():
                    ready.set_result(session)
                await self._closing.wait()
        except BaseException as exc:
            error = classify(exc, server=self.server, guard=self.guard, what="the session")
            if not ready.done():
                ready.set_exception(error)
                ready.exception()  # retrieved here too: the opener may have given up already
            elif not self._closing.is_set():
                logger.warning("MCP session with %s ended: %s", self.server, error.message)
                self._fail(error)
            if _cancelled_from_outside():
                raise
        finally:
            self._session = None
            self._mark_dead()

    async def _connect(self, stack: AsyncExitStack) -> ClientSession:
        chosen = self.endpoint.transport if self.endpoint.transport != "auto" else self._known_transport
        kinds: list[Transport] = ["streamable_http", "sse"]  # auto, on first contact
        if chosen is not None:
            kinds = ["sse"] if chosen == "sse" else ["streamable_http"]
        for index, kind in enumerate(kinds):
            attempt = AsyncExitStack()
            try:
                session = await self._open_transport(attempt, kind)
            except BaseException as exc:
                error = await _unwind(attempt, exc)
                if _cancelled_from_outside():
                    raise
                typed = classify(error, server=self.server, guard=self.guard, what=f"connecting ({kind})")
                if index + 1 == len(kinds) or type(typed) is not ProviderError:
                    raise typed from None
                logger.info(
                    "MCP server at %s refused streamable HTTP (%s); trying SSE", self.server, typed.message
                )
                self.guard.error_statuses.clear()
                continue
            stack.push_async_exit(attempt)
            self.transport = kind
            return session
        raise AssertionError("unreachable")

    async def _open_transport(self, stack: AsyncExitStack, kind: Transport) -> ClientSession:
        headers = dict(self.endpoint.headers)
        authorization = self.endpoint.authorization_header()
        if authorization is not None:
            headers["Authorization"] = authorization
        timeouts = self._timeouts
        # httpx's read timeout is between two bytes, so it bounds how long an open event stream
        # may stay silent (`idle`); a slow tool is bounded by the call timeout.
        http_timeout = httpx2.Timeout(timeouts.idle, connect=timeouts.connect)
        if kind == "streamable_http":
            client = await stack.enter_async_context(
                session_client(self._pool, self.guard, headers=headers, timeout=http_timeout)
            )
            streams = await stack.enter_async_context(
                # The guard bounds events at max_response_bytes; the SDK's own bound must not bite first.
                streamable_http_client(
                    self.endpoint.uri,
                    http_client=client,
                    max_sse_event_size=self.guard.max_response_bytes + 4096,
                )
            )
        else:

            def factory(
                headers: dict[str, str] | None = None,
                timeout: httpx2.Timeout | None = None,
                auth: httpx2.Auth | None = None,
            ) -> httpx2.AsyncClient:
                return session_client(
                    self._pool, self.guard, headers=headers or {}, timeout=timeout or http_timeout
                )

            streams = await stack.enter_async_context(
                sse_client(
                    self.endpoint.uri,
                    headers=headers,
                    timeout=timeouts.connect,
                    sse_read_timeout=timeouts.idle,
                    httpx_client_factory=factory,
                )
            )
        read, write = streams[0], streams[1]
        session = await stack.enter_async_context(
            ClientSession(
                read,
                write,
                read_timeout_seconds=timeouts.call,
                message_handler=self._on_message,
                client_info=CLIENT_INFO,
            )
        )
        await session.initialize()
        return session

    # -- requests --------------------------------------------------------------------------

    async def request(self, operation: Callable[[ClientSession], Awaitable[T]]) -> T:
        """Run `operation` on the session from the caller's task; fail as soon as the
        connection dies. Exceptions of the operation itself are raised unchanged."""
        if self._failure is not None:
            raise self._failure
        session = self._session
        if session is None or self._dead.done():
            raise ProviderUnavailable(f"the session with the MCP server at {self.server} is closed")
        call = asyncio.ensure_future(operation(session))
        try:
            await asyncio.wait((call, self._dead), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not call.done():
                call.cancel()
                await asyncio.gather(call, return_exceptions=True)
        if not call.cancelled():
            return call.result()
        raise self._failure or ProviderUnavailable(f"the MCP server at {self.server} closed the connection")

    def _mark_dead(self) -> None:
        if not self._dead.done():
            self._dead.set_result(None)

    def fail(self, error: OGXError) -> None:
        """Mark the connection failed: calls waiting on it fail with `error`, nobody reuses it,
        and its worker closes the session."""
        self._fail(error)

    def _fail(self, error: OGXError) -> None:
        if self._failure is None:
            self._failure = error
        self._mark_dead()
        self._closing.set()  # the worker unwinds the session; nobody reuses a failed one

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._on_tools_changed()
        elif isinstance(message, Exception):
            # The text of transport errors can carry URLs with credentials: log the type only.
            logger.debug("MCP transport error from %s: %s", self.server, type(message).__name__)


def _cancelled_from_outside() -> bool:
    """Whether this task was cancelled by its owner, as opposed to a CancelledError with which
    the SDK's task groups unwind a failure."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _unwind(stack: AsyncExitStack, exc: BaseException) -> BaseException:
    """Close a failed attempt's contexts; return the most telling exception (closing a
    transport's task group often raises a group holding the real cause)."""
    try:
        await stack.__aexit__(type(exc), exc, exc.__traceback__)
    except BaseException as closing:
        return BaseExceptionGroup("connect failed", [exc, closing]) if closing is not exc else exc
    return exc
