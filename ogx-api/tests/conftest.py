"""Fixtures of the ogx-api tests: an OpenAI-compatible adapter whose backend answers through a
handler `httpx.Request -> httpx.Response`, reached either through an injected
`httpx.MockTransport` or over real HTTP on 127.0.0.1 with the adapter's own pooled client."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from ogx_api.openai_compat import OpenAICompatConfig, OpenAICompatInferenceAdapter

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
AdapterFactory = Callable[..., Any]


class ReplayServer:
    """A real HTTP/1.1 server on 127.0.0.1 that answers each request with what `handler` returns.

    A streamed body is sent chunked, each piece as the handler's iterator yields it; an
    `httpx.HTTPError` from that iterator drops the connection mid-body, as a crashing backend does."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def __aenter__(self) -> ReplayServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(line.split(":", 1)) for line in lines]
                headers = [(name.strip(), value.strip()) for name, value in headers]
                length = int(next((v for n, v in headers if n.lower() == "content-length"), 0))
                body = await reader.readexactly(length) if length else b""
                request = httpx.Request(method, f"http://backend{target}", headers=headers, content=body)
                answer = self.handler(request)
                if inspect.isawaitable(answer):
                    answer = await answer
                if not await _write(writer, answer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _write(writer: asyncio.StreamWriter, response: httpx.Response) -> bool:
    """Send `response`; False when the connection was dropped on purpose."""
    head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    skipped = {"content-length", "transfer-encoding"}
    head += [f"{name}: {value}" for name, value in response.headers.multi_items() if name not in skipped]
    try:
        content = response.content
    except httpx.ResponseNotRead:
        writer.write(("\r\n".join([*head, "transfer-encoding: chunked"]) + "\r\n\r\n").encode("latin-1"))
        try:
            async for piece in response.aiter_raw():
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
        except httpx.HTTPError:
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
    else:
        head.append(f"content-length: {len(content)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content)
    await writer.drain()
    return True


@pytest.fixture(params=["injected", "served"])
def compat_adapter(request: pytest.FixtureRequest) -> AdapterFactory:
    """`compat_adapter(handler, cls=..., **config_fields)`: an async context manager yielding a
    started adapter (`cls`, default `OpenAICompatInferenceAdapter`) whose backend is `handler`.

    `injected`: an `httpx.AsyncClient` over `httpx.MockTransport`. `served`: a `ReplayServer`,
    reached with the adapter's own client (aiohttp's, where installed): the production path."""

    @asynccontextmanager
    async def factory(
        handler: Handler,
        cls: type[OpenAICompatInferenceAdapter] = OpenAICompatInferenceAdapter,
        **fields: Any,
    ) -> AsyncIterator[OpenAICompatInferenceAdapter]:
        settings = {"base_url": "http://backend.test/v1", **fields}
        if request.param == "injected":
            async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:  # type: ignore[arg-type]
                provider = cls(OpenAICompatConfig.model_validate(settings), client=client)
                await provider.start()
                yield provider
                await provider.close()
            return
        async with ReplayServer(handler) as server:
            settings["base_url"] = settings["base_url"].replace("http://backend.test/v1", server.base_url)
            provider = cls(OpenAICompatConfig.model_validate(settings))
            await provider.start()
            try:
                yield provider
            finally:
                await provider.close()

    return factory
