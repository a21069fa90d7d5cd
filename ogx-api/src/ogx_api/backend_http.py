"""How `OpenAICompatInferenceAdapter` speaks HTTP to its backend: one small interface,
`BackendHttp`, and two implementations, so the adapter's logic (payloads, retries, SSE, error
mapping) is one code path whichever library carries the bytes.

- `AiohttpBackend`, the default when aiohttp is installed (the `ogx` server depends on it):
  aiohttp's client called directly costs about a quarter of the CPU per request of httpx's API
  over the same aiohttp pool (URL and request building, cookie and auth flows, stream wrappers),
  and that was most of the server's CPU on a proxied chat completion (bench/README.md).
- `HttpxBackend` wraps an `httpx.AsyncClient`: one a caller injects (tests pass
  `httpx.MockTransport`), or the adapter's own where aiohttp is not installed.

Each implementation names the exceptions its calls and iterators raise (`errors`) and turns one
into a transport-neutral `TransportFailure` (`failure()`); the adapter maps that to its typed
`ogx_api` error in one place.
"""

from __future__ import annotations

import base64
import functools
import ssl
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "AiohttpBackend",
    "Answer",
    "BackendHttp",
    "Exchange",
    "FailureKind",
    "HttpxBackend",
    "TransportFailure",
    "aiohttp_installed",
]

# Kept shorter than the usual backend keep-alive (uvicorn's 5 s), so a pooled connection is not
# reused just as the backend closes it: a POST that fails that way is not resent.
_KEEPALIVE_SECONDS = 4.0


class FailureKind(Enum):
    connect = "connect"  # refused, unreachable, TLS handshake or certificate failure
    connect_timeout = "connect_timeout"
    pool_timeout = "pool_timeout"  # every pooled connection stayed busy
    read_timeout = "read_timeout"
    broken = "broken"  # the connection failed after it was made (dropped, bad HTTP)


class TransportFailure(Exception):
    """A request that got no complete answer, in terms that do not depend on the library."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(slots=True)
class Answer:
    """A whole HTTP answer. `headers` looks names up case-insensitively."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


class Exchange(ABC):
    """A streamed answer: its status and headers, then its body piece by piece as it arrives."""

    status: int

    @abstractmethod
    def chunks(self) -> AsyncIterator[bytes]: ...

    @abstractmethod
    async def answer(self) -> Answer:
        """The rest of the body, read whole (for an error answer)."""


class BackendHttp(ABC):
    """The HTTP calls the adapter makes. Calls and chunk iterators raise `errors`. Its user closes
    it only when `owned` (an injected client belongs to whoever injected it)."""

    errors: tuple[type[BaseException], ...]
    owned: bool = True

    @abstractmethod
    async def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer: ...

    @abstractmethod
    def stream(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> AbstractAsyncContextManager[Exchange]:
        """The answer's head, its body to read from; leaving early or on an error closes the
        connection (so the backend stops), leaving after the whole body gives it back to the pool."""

    @abstractmethod
    def failure(self, error: BaseException) -> TransportFailure:
        """`error`, one of `errors`, as a `TransportFailure`."""

    @abstractmethod
    async def aclose(self) -> None: ...

    @property
    @abstractmethod
    def closed(self) -> bool: ...


def aiohttp_installed() -> bool:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def ssl_context(tls_verify: bool | str | None) -> ssl.SSLContext:
    """The TLS settings for `tls_verify`: certifi's CAs (and `SSL_CERT_FILE`/`SSL_CERT_DIR`), none,
    or a CA bundle's path — as httpx builds them, so both implementations verify alike. One
    context per setting for the whole process (a context is safe to share): loading a CA bundle
    costs ~30 ms and ~0.75 MiB per context, measured.

    `None` is for a plain-HTTP backend: verification stays on and no CA is loaded, so nothing
    is trusted."""
    if tls_verify is None:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if isinstance(tls_verify, str):
        return ssl.create_default_context(cafile=tls_verify)
    return httpx.create_ssl_context(verify=tls_verify)


# -- httpx -----------------------------------------------------------------------------------


class _HttpxExchange(Exchange):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def answer(self) -> Answer:
        response = self._response
        await response.aread()
        return Answer(response.status_code, response.reason_phrase, response.headers, response.content)


class HttpxBackend(BackendHttp):
    """Over an `httpx.AsyncClient`."""

    errors = (httpx.HTTPError,)

    def __init__(self, client: httpx.AsyncClient, *, owned: bool) -> None:
        self._client = client
        self.owned = owned

    @classmethod
    def pooled(
        cls,
        *,
        tls_verify: bool | str | None,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        connect_retries: int,
    ) -> HttpxBackend:
        """A client of its own, for where aiohttp is not installed."""
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        transport = httpx.AsyncHTTPTransport(
            verify=ssl_context(tls_verify), limits=limits, retries=connect_retries
        )
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # as AiohttpBackend: none kept
        return cls(httpx.AsyncClient(timeout=timeout, transport=transport, cookies=no_cookies), owned=True)

    async def request(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> Answer:
        response = await self._client.request(method, url, content=body, headers=headers)
        return Answer(response.status_code, response.reason_phrase, response.headers, response.content)

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> AsyncIterator[Exchange]:
        request = self._client.build_request(method, url, content=body, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            yield _HttpxExchange(response)
        finally:
            await response.aclose()

    def failure(self, error: BaseException) -> TransportFailure:
        if isinstance(error, httpx.ConnectTimeout):
            return TransportFailure(FailureKind.connect_timeout, "")
        if isinstance(error, httpx.PoolTimeout):
            return TransportFailure(FailureKind.pool_timeout, "")
        if isinstance(error, httpx.TimeoutException):
            return TransportFailure(FailureKind.read_timeout, "")
        if isinstance(error, httpx.ConnectError):
            return TransportFailure(FailureKind.connect, str(error))
        return TransportFailure(FailureKind.broken, repr(error))

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def closed(self) -> bool:
        return self._client.is_closed


# -- aiohttp ---------------------------------------------------------------------------------


class _AiohttpExchange(Exchange):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.content.iter_any()  # each piece as it arrives, never waiting for more

    async def answer(self) -> Answer:
        response = self._response
        return Answer(response.status, response.reason or "", response.headers, await response.read())


class AiohttpBackend(BackendHttp):
    """One `aiohttp.ClientSession` with its own connection pool. Create it in a running loop."""

    def __init__(
        self,
        *,
        tls_verify: bool | str | None,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        connect_retries: int,
    ) -> None:
        import aiohttp
        from yarl import URL

        self._aiohttp = aiohttp
        self._url_type = URL
        self.errors = (aiohttp.ClientError, TransportFailure)
        self._limit = max_connections
        self._connect_retries = connect_retries
        self._in_flight = 0  # requests holding or waiting for a connection: tells a pool wait apart
        self._targets: dict[str, tuple[Any, str | None]] = {}
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=0,
            ssl=ssl_context(tls_verify),
            keepalive_timeout=_KEEPALIVE_SECONDS,
        )
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=connect_timeout,
            sock_read=read_timeout,  # between two reads: the whole answer, or the next chunk
            connect=max(read_timeout, connect_timeout),  # waiting for a pooled connection, then connecting
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            # No cookie jar: one session serves every user of the provider, and a backend's cookie
            # for one request must not ride along with another's.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=True,
        )

    def _target(self, url: str) -> tuple[Any, str | None]:
        """`url` parsed once (a provider calls a handful of URLs), without its credentials, and
        the Basic `Authorization` they make."""
        target = self._targets.get(url)
        if target is None:
            parsed = self._url_type(url)
            auth = None
            if parsed.user is not None:
                pair = f"{parsed.user}:{parsed.password or ''}".encode()
                auth = f"Basic {base64.b64encode(pair).decode()}"
                parsed = parsed.with_user(None)
            target = self._targets[url] = (parsed, auth)
        return target

    async def _send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        """The answer's head. The caller releases or closes it, then takes one off `_in_flight`."""
        target, auth = self._target(url)
        if auth is not None and "Authorization" not in headers:
            headers = {**headers, "Authorization": auth}  # the URL's credentials, as httpx sends them
        attempt = 0
        queued = self._in_flight >= self._limit
        self._in_flight += 1
        try:
            while True:
                try:
                    return await self._session.request(
                        method, target, data=body, headers=headers, allow_redirects=False
                    )
                except self._aiohttp.ConnectionTimeoutError:
                    if queued:
                        raise TransportFailure(FailureKind.pool_timeout, "") from None
                    if attempt >= self._connect_retries:
                        raise
                except self._aiohttp.ClientConnectorError:
                    # Never connected, so the backend never saw the request: safe to resend.
                    if attempt >= self._connect_retries:
                        raise
                attempt += 1
        except BaseException:  # cancellation too: the slot is given back whatever ended the wait, re-raised
            self._in_flight -= 1
            raise

    async def request(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> Answer:
        response = await self._send(method, url, body, headers)
        try:
            content = await response.read()
        finally:
            response.release()  # back to the pool once read whole; closed if cut short
            self._in_flight -= 1
        return Answer(response.status, response.reason or "", response.headers, content)

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> AsyncIterator[Exchange]:
        response = await self._send(method, url, body, headers)
        try:
            yield _AiohttpExchange(response)
        except BaseException:  # a disconnect arrives as cancellation: closed, then re-raised
            response.close()  # e.g. the client went away: the backend must stop generating
            raise
        else:
            response.release()  # reused when the body was read to its end, else closed
        finally:
            self._in_flight -= 1

    def failure(self, error: BaseException) -> TransportFailure:
        aiohttp = self._aiohttp
        if isinstance(error, TransportFailure):
            return error
        if isinstance(error, aiohttp.ConnectionTimeoutError):
            return TransportFailure(FailureKind.connect_timeout, "")
        if isinstance(error, aiohttp.ServerTimeoutError):
            return TransportFailure(FailureKind.read_timeout, "")
        if isinstance(error, aiohttp.ClientConnectorError):
            return TransportFailure(FailureKind.connect, str(error))
        return TransportFailure(FailureKind.broken, repr(error))

    async def aclose(self) -> None:
        await self._session.close()

    @property
    def closed(self) -> bool:
        return self._session.closed
