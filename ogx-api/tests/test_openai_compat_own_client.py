"""The adapter's own pooled client, over real sockets on 127.0.0.1: aiohttp's (the default where
it is installed) and httpx's (the fallback without aiohttp) must behave alike — the same timeouts,
pooling, credentials and typed errors, and a stream left early closes its backend connection."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from ogx_api import HealthState, ProviderError, ProviderTimeout, ProviderUnavailable
from ogx_api.inference import ChatCompletionRequest
from ogx_api.openai_compat import OpenAICompatConfig, OpenAICompatInferenceAdapter

SECRET = "sk-do-not-leak-123"
COMPLETION = {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": []}


@pytest.fixture(params=["aiohttp", "httpx"])
def own_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "aiohttp":
        pytest.importorskip("aiohttp")
    else:
        monkeypatch.setattr("ogx_api.openai_compat.aiohttp_installed", lambda: False)
    return request.param


@asynccontextmanager
async def started(base_url: str, **fields: Any) -> AsyncIterator[OpenAICompatInferenceAdapter]:
    provider = OpenAICompatInferenceAdapter(
        OpenAICompatConfig.model_validate({"base_url": base_url, **fields})
    )
    await provider.start()
    try:
        yield provider
    finally:
        await provider.close()


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose listen backlog is full: the kernel drops further SYNs, so connecting hangs."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            yield port
        finally:
            for filler in fillers:
                filler.close()


async def read_request(reader: asyncio.StreamReader) -> httpx.Headers:
    """One request's head and body off the connection; its headers."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:-2]
    headers = httpx.Headers([tuple(part.strip() for part in line.split(":", 1)) for line in lines])
    await reader.readexactly(int(headers.get("content-length", "0")))
    return headers


@asynccontextmanager
async def raw_backend(respond: Any) -> AsyncIterator[str]:
    """A backend that hands each connection to `respond(reader, writer)` once its first request
    is read; `respond` reads any later ones itself."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            await respond(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    finally:
        server.close()


def sse_head() -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def sse_piece(data: str) -> bytes:
    event = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(event), event)


# -- lifecycle -------------------------------------------------------------------------------


async def test_own_client_is_created_at_start_and_closed_at_close(own_client: str) -> None:
    provider = OpenAICompatInferenceAdapter(
        OpenAICompatConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1")
    )
    with pytest.raises(RuntimeError, match="start"):
        await provider.list_models()
    await provider.start()
    backend = provider._backend
    assert backend is not None and not backend.closed
    assert type(backend).__name__ == ("AiohttpBackend" if own_client == "aiohttp" else "HttpxBackend")
    await provider.close()
    assert backend.closed
    with pytest.raises(RuntimeError, match="start"):
        await provider.list_models()


# -- connecting ------------------------------------------------------------------------------


async def test_a_refused_connection_is_unavailable_and_health_reports_it(own_client: str) -> None:
    async with started(f"http://127.0.0.1:{closed_port()}/v1", max_retries=0) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.chat_completion(chat())
        health = await provider.health()
    assert caught.value.status_code == 503 and "cannot connect" in caught.value.message
    assert health.status == HealthState.error and health.message


async def test_credentials_in_the_url_never_appear_in_connection_errors(own_client: str) -> None:
    url = f"http://user:{SECRET}@127.0.0.1:{closed_port()}/v1?key={SECRET}"
    async with started(url, api_key=SECRET) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.chat_completion(chat())
    assert SECRET not in caught.value.message and "127.0.0.1" in caught.value.message


async def test_a_connection_that_cannot_be_made_in_time_is_unavailable(own_client: str) -> None:
    with unanswered_port() as port:
        async with started(f"http://127.0.0.1:{port}/v1", connect_timeout=0.2, connect_retries=0) as provider:
            with pytest.raises(ProviderUnavailable) as caught:
                await asyncio.wait_for(provider.chat_completion(chat()), timeout=5)
    assert "connect_timeout" in caught.value.message


# -- timeouts and the pool -------------------------------------------------------------------


async def test_a_backend_that_does_not_answer_in_time_is_a_timeout(own_client: str) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with raw_backend(never_answer) as url, started(url, read_timeout=0.2) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await asyncio.wait_for(provider.chat_completion(chat()), timeout=3)
    assert caught.value.status_code == 504 and "read_timeout" in caught.value.message


async def test_a_stream_that_stalls_between_chunks_is_a_timeout(own_client: str) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + sse_piece('{"n": 1}'))
        await writer.drain()
        await asyncio.sleep(5)

    received = []
    async with raw_backend(stall) as url, started(url, read_timeout=0.3) as provider:
        with pytest.raises(ProviderTimeout):
            async with asyncio.timeout(3):
                async for chunk in provider.chat_completion_stream(chat(stream=True)):
                    received.append(chunk)
    assert received == [{"n": 1}]


async def test_waiting_too_long_for_a_pooled_connection_says_the_pool_is_busy(own_client: str) -> None:
    async def slow_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head())
        for n in range(20):
            writer.write(sse_piece(f'{{"n": {n}}}'))
            await writer.drain()
            await asyncio.sleep(0.05)

    settings = {"max_connections": 1, "read_timeout": 0.3, "connect_timeout": 0.3}
    async with raw_backend(slow_stream) as url, started(url, **settings) as provider:
        holding = provider.chat_completion_stream(chat(stream=True))
        assert await anext(holding) == {"n": 0}  # the only connection is now busy for ~1 s
        try:
            with pytest.raises(ProviderUnavailable) as caught:
                await asyncio.wait_for(provider.chat_completion(chat()), timeout=3)
        finally:
            await holding.aclose()
    assert "max_connections" in caught.value.message


async def test_connections_are_pooled_and_reused(own_client: str) -> None:
    connections = 0
    body = b'{"id": "c", "object": "chat.completion", "choices": []}'

    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            await read_request(reader)

    async with raw_backend(answer_each) as url, started(url) as provider:
        for _ in range(5):
            await provider.chat_completion(chat())
    assert connections == 1


# -- streams -------------------------------------------------------------------------------


async def test_leaving_a_stream_early_closes_the_backend_connection(own_client: str) -> None:
    closed = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head())
        try:
            for n in range(200):
                writer.write(sse_piece(f'{{"n": {n}}}'))
                await writer.drain()
                if await reader.read(1) == b"":  # EOF: the client closed the connection
                    break
        finally:
            closed.set()

    async with raw_backend(endless) as url, started(url) as provider:
        stream = provider.chat_completion_stream(chat(stream=True))
        assert await anext(stream) == {"n": 0}
        await stream.aclose()
        await asyncio.wait_for(closed.wait(), timeout=3)


async def test_a_connection_dropped_mid_stream_is_provider_error(own_client: str) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sse_head() + sse_piece('{"n": 1}'))
        await writer.drain()
        writer.transport.abort()

    received = []
    async with raw_backend(drop) as url, started(url) as provider:
        with pytest.raises(ProviderError) as caught:
            async for chunk in provider.chat_completion_stream(chat(stream=True)):
                received.append(chunk)
    assert received == [{"n": 1}] and caught.value.status_code == 502


# -- what is sent ----------------------------------------------------------------------------


async def test_headers_credentials_and_no_cookies(own_client: str) -> None:
    seen: list[httpx.Headers] = []
    body = b'{"id": "c", "object": "chat.completion", "choices": []}'
    answer = b"HTTP/1.1 200 OK\r\nset-cookie: session=abc; Path=/\r\ncontent-length: %d\r\n\r\n%s"

    async def remember(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(httpx.Headers())  # the first request's head was read by raw_backend
        while True:
            writer.write(answer % (len(body), body))
            await writer.drain()
            seen.append(await read_request(reader))

    async with raw_backend(remember) as url:
        async with started(url.replace("http://", "http://user:pw@")) as provider:
            await provider.chat_completion(chat())
            await provider.chat_completion(chat())
        async with started(url, api_key=SECRET) as provider:
            await provider.chat_completion(chat())
            await provider.chat_completion(chat())
    assert seen[1]["authorization"] == "Basic dXNlcjpwdw=="  # the URL's credentials
    assert seen[3]["authorization"] == f"Bearer {SECRET}"
    assert seen[3]["content-type"] == "application/json"
    assert "cookie" not in seen[1] and "cookie" not in seen[3], "a backend's cookie is not sent back"


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the `openssl` command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@asynccontextmanager
async def tls_backend(certificate: tuple[Path, Path]) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    body = b'{"object": "list", "data": [{"id": "m"}]}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    finally:
        server.close()


async def test_tls_verify_true_refuses_an_unknown_certificate(
    own_client: str, certificate: tuple[Path, Path]
) -> None:
    async with tls_backend(certificate) as url, started(url, connect_retries=0, max_retries=0) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.list_models()
    assert "certificate" in caught.value.message.lower()


@pytest.mark.parametrize("verify", ["ca-bundle", False])
async def test_tls_verify_with_a_ca_bundle_or_off_connects(
    own_client: str, certificate: tuple[Path, Path], verify: object
) -> None:
    tls_verify = str(certificate[0]) if verify == "ca-bundle" else verify
    async with tls_backend(certificate) as url, started(url, tls_verify=tls_verify) as provider:
        models = await provider.list_models()
    assert [model.provider_model_id for model in models] == ["m"]
