"""Added latency of a tool call through `remote::model-context-protocol` versus the MCP SDK
called directly, both on a warm session, against the tests' MCP server on loopback.

    .venv/bin/python plugins/ogx-mcp/bench_invoke.py [--calls 300] [--transport streamable-http|sse]

Rounds alternate between the two clients so machine noise hits both alike. Also reports a
call on a fresh session (what `runtime.invoke` outside a `session()` costs). Not a test: it
prints medians and p90s; the server-level figure (through `ogx run`) comes with the endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from ogx_api.tools import McpEndpoint
from ogx_api.url_policy import UrlPolicy
from ogx_mcp.config import MCPToolRuntimeConfig
from ogx_mcp.runtime import create_provider

ROUNDS = 10


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered):6.2f} ms   p90 {ordered[int(len(ordered) * 0.9)]:6.2f} ms"


async def bench(url: str, transport: str, calls: int) -> None:
    arguments = {"text": "hello"}
    runtime = create_provider(MCPToolRuntimeConfig(url_policy=UrlPolicy(allow_loopback=True)), {})
    await runtime.start()
    endpoint = McpEndpoint(uri=url, transport="sse" if transport == "sse" else "streamable_http")
    client = sse_client(url) if transport == "sse" else streamable_http_client(url)
    direct: list[float] = []
    through: list[float] = []
    async with client as streams, ClientSession(streams[0], streams[1]) as sdk, runtime.session() as scope:
        await sdk.initialize()
        await sdk.call_tool("echo", arguments)  # warm both sessions
        await scope.invoke(endpoint, "echo", arguments)
        per_round = max(1, calls // ROUNDS)
        for _ in range(ROUNDS):
            direct += await timed(lambda: sdk.call_tool("echo", arguments), per_round)
            through += await timed(lambda: scope.invoke(endpoint, "echo", arguments), per_round)
    fresh = await timed(lambda: runtime.invoke(endpoint, "echo", arguments), max(10, calls // 10))
    await runtime.close()

    added = statistics.median(through) - statistics.median(direct)
    print(f"transport {transport}, {len(direct)} calls each (warm sessions)")
    print(f"  MCP SDK directly       {summary(direct)}")
    print(f"  through ogx-mcp        {summary(through)}")
    print(f"  added by ogx-mcp       {added:+.2f} ms (median)")
    print(f"  ogx-mcp, fresh session {summary(fresh)}  ({len(fresh)} calls: connect + initialize + call)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Added latency of ogx-mcp versus the MCP SDK, warm sessions."
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    from conftest import start_server  # pyright: ignore[reportMissingImports]  (the tests' launcher)

    with tempfile.TemporaryDirectory() as log_dir:
        server = start_server(args.transport, Path(log_dir))
        try:
            asyncio.run(bench(server.url, args.transport, args.calls))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
