"""The HTTP layer under the MCP SDK: one pooled transport per runtime, and per session a thin
transport over it that enforces the URL policy on every request and connection and bounds what
a server can send.

The SDK wraps what goes wrong below it (HTTP statuses become JSON-RPC errors, transport errors
end up in exception groups or only in its log), so each session has a `ConnectionGuard` that
records what the HTTP layer saw and fails the session at once when it refuses something.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx2

from ogx_api.errors import InvalidRequest, OGXError, ProviderError
from ogx_api.redaction import redact_url
from ogx_api.url_policy import UrlPolicy

USER_AGENT = "ogx-mcp/0.1"
_EVENT_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")  # a blank line ends an SSE event


class ResponseTooLarge(httpx2.ReadError):
    """A response body (or one SSE event) went past `max_response_bytes`."""


@dataclass
class ConnectionGuard:
    """What one session's HTTP traffic did, and the checks it runs on each request.

    `on_failure` is called once with the first refusal, so the session fails its waiting calls
    instead of letting them wait for a timeout.
    """

    policy: UrlPolicy
    max_response_bytes: int
    on_failure: Callable[[OGXError], None] = lambda error: None
    failure: OGXError | None = None
    error_statuses: list[int] = field(default_factory=list)
    responses_received: int = 0  # responses whose status line arrived (the server got the request)
    _checked_origins: set[tuple[str, str, int | None]] = field(default_factory=set)
    _checked_peers: set[str] = field(default_factory=set)

    def fail(self, error: OGXError) -> OGXError:
        if self.failure is None:
            self.failure = error
            self.on_failure(error)
        return self.failure

    async def check_request(self, url: httpx2.URL) -> None:
        """Check the URL of a request about to be sent (redirect hops and the SSE message
        endpoint included). Each origin is resolved and checked once per session."""
        origin = (url.scheme, url.host, url.port)
        if origin in self._checked_origins:
            return
        try:
            await self.policy.check(str(url))
        except OGXError as error:
            raise self.fail(error) from None
        self._checked_origins.add(origin)

    def check_peer(self, url: httpx2.URL, response: httpx2.Response) -> None:
        """Check the address the connection actually reached, so a DNS answer that changed
        since `check_request` resolved it is caught before the answer is read."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer or peer[0] in self._checked_peers:
            return
        try:
            self.policy.check_address(str(url), ipaddress.ip_address(str(peer[0]).split("%", 1)[0]))
        except OGXError as error:
            raise self.fail(error) from None
        self._checked_peers.add(peer[0])

    def too_large(self, url: httpx2.URL) -> ResponseTooLarge:
        self.fail(
            ProviderError(
                f"the MCP server at {redact_url(str(url))} sent more than {self.max_response_bytes} "
                "bytes in one response (max_response_bytes)"
            )
        )
        return ResponseTooLarge(f"response larger than {self.max_response_bytes} bytes")


class _SessionTransport(httpx2.AsyncBaseTransport):
    """One session's view of the runtime's pooled transport: checks each request and response,
    bounds bodies, and leaves the pool open when the session's client closes."""

    def __init__(self, pool: httpx2.AsyncBaseTransport, guard: ConnectionGuard) -> None:
        self._pool = pool
        self._guard = guard

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        guard = self._guard
        if isinstance(guard.failure, InvalidRequest):
            raise guard.failure  # nothing more goes to a refused address, not even a goodbye
        await guard.check_request(request.url)
        response = await self._pool.handle_async_request(request)
        guard.responses_received += 1
        try:
            guard.check_peer(request.url, response)
        except OGXError:
            await response.aclose()
            raise
        if response.status_code >= 400:
            guard.error_statuses.append(response.status_code)
        content_type = response.headers.get("content-type", "").lower()
        stream = _BoundedStream(
            response.stream,  # type: ignore[arg-type]
            limit=guard.max_response_bytes,
            per_event=content_type.startswith("text/event-stream"),
            exceeded=lambda: guard.too_large(request.url),
        )
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=stream,
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        return None  # the runtime owns the pool


class _BoundedStream(httpx2.AsyncByteStream):
    """A response body that fails past `limit` bytes: in total for a plain body, per event for
    an event stream (which may stay open for the whole session)."""

    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        *,
        limit: int,
        per_event: bool,
        exceeded: Callable[[], Exception],
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._per_event = per_event
        self._exceeded = exceeded

    async def __aiter__(self) -> AsyncIterator[bytes]:
        count = 0  # bytes of the body (or of the current event) so far
        tail = b""  # the last bytes seen, so a boundary split across chunks is found
        async for chunk in self._inner:
            if not self._per_event:
                count += len(chunk)
            else:
                window = tail + chunk
                start = len(tail)
                for boundary in _EVENT_BOUNDARY.finditer(window):
                    if count + max(boundary.start() - start, 0) > self._limit:
                        raise self._exceeded()
                    count, start = 0, boundary.end()
                count += len(window) - max(start, len(tail))
                tail = window[-3:]
            if count > self._limit:
                raise self._exceeded()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def session_client(
    pool: httpx2.AsyncBaseTransport,
    guard: ConnectionGuard,
    *,
    headers: dict[str, str],
    timeout: httpx2.Timeout,
) -> httpx2.AsyncClient:
    """An HTTP client for one MCP session: its headers, over the runtime's pool, guarded.
    Redirects are never followed by httpx itself; the SDK follows same-origin ones hop by hop,
    and each hop passes `guard.check_request`."""
    return httpx2.AsyncClient(
        transport=_SessionTransport(pool, guard),
        headers={"User-Agent": USER_AGENT, **headers},
        timeout=timeout,
        follow_redirects=False,
    )
