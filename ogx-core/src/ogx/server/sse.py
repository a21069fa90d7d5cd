"""Server-sent events. The first chunk is fetched before the response starts, so an early
failure (unknown model, backend down) is an ordinary HTTP error; a failure after that is sent
as an error event. A client that disconnects closes the upstream stream."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from ogx_api import OGXError

logger = logging.getLogger(__name__)

_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def openai_event(chunk: Any) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


async def sse_response(
    chunks: AsyncIterator[Any],
    *,
    encode: Callable[[Any], bytes] = openai_event,
    on_error: Callable[[OGXError], bytes],
    done: bytes | None = b"data: [DONE]\n\n",
) -> StreamingResponse:
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except BaseException:
        await _close(chunks)
        raise

    async def body() -> AsyncIterator[bytes]:
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

    return StreamingResponse(body(), media_type="text/event-stream", headers=_HEADERS)


async def _close(chunks: AsyncIterator[Any]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
