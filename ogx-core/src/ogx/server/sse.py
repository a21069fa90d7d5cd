"""Server-sent events. The first chunk is fetched before the response starts, so an early
failure (unknown model, backend down) is an ordinary HTTP error; a failure after that is sent
as an error event. A client that disconnects cancels the upstream stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ogx_api import OGXError

logger = logging.getLogger(__name__)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def openai_event(chunk: Any) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class EventStream(Response):
    """An ASGI response relaying `events` as they come.

    It watches for the client's disconnect with one task and cancels the relay when it comes
    (uvicorn silently drops writes to a closed connection, so without this the upstream call
    would run to its end); Starlette's StreamingResponse does the same with a task group per
    response, which costs more on every stream.
    """

    def __init__(
        self, events: AsyncIterator[bytes], headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.events = events
        self.status_code = 200
        self.background = None
        self.raw_headers = _HEADERS + (headers or [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        disconnected = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()
            relay.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for event in self.events:
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not disconnected.is_set():
                raise
            relay.uncancel()
            logger.info("client disconnected; stream cancelled")
        finally:
            watcher.cancel()
            await _close(self.events)


async def sse_response(
    chunks: AsyncIterator[Any],
    *,
    encode: Callable[[Any], bytes] = openai_event,
    on_error: Callable[[OGXError], bytes],
    done: bytes | None = b"data: [DONE]\n\n",
) -> EventStream:
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except BaseException:
        await _close(chunks)
        raise

    async def events() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield encode(first)
                async for chunk in chunks:
                    yield encode(chunk)
            if done:
                yield done
        except OGXError as exc:
            logger.warning("stream failed after it started: %r", exc)
            yield on_error(exc)
        finally:
            await _close(chunks)

    return EventStream(events())


async def _close(chunks: AsyncIterator[Any]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
