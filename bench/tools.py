"""Added latency of `POST /v1/tool-runtime/invoke` over calling the MCP server directly with the
`mcp` SDK, both on warm sessions, against the tests' MCP server (streamable HTTP) on loopback.

    .venv/bin/python bench/tools.py [--calls 1000] [--rounds 20] [--transport streamable-http|sse]

One `ogx run` (ogx-mcp, `server.outbound.allow_loopback`) with a tool group registered on the
server; the direct side is one SDK `ClientSession`. Rounds alternate between the two so machine
noise hits both alike. Each OGX call is one keep-alive HTTP request (`rawhttp`, a few tens of
microseconds of client cost). Prints p50/p99 of both and the added latency.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import payloads
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from procs import HOST, Owned, free_port
from rawhttp import Connection
from sut import PYCACHE, ogx_binary

REPO = Path(__file__).resolve().parent.parent
ARGUMENTS = {"text": "hello"}


def load_mcp_fixtures():  # the tests' launcher of `mcp_test_server.py`
    path = REPO / "plugins" / "ogx-mcp" / "tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("ogx_mcp_test_servers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def start_ogx(workdir: Path) -> tuple[Owned, int]:
    port = free_port()
    config = workdir / "run.yaml"
    config.write_text(
        json.dumps(
            {
                "version": 2,
                "name": "bench-tools",
                "providers": {
                    "tool_runtime": [
                        {"provider_id": "mcp", "provider_type": "remote::model-context-protocol"},
                        {"provider_id": "builtin", "provider_type": "inline::builtin"},
                    ]
                },
                "server": {"outbound": {"allow_loopback": True}},
            }
        )
    )
    binary = ogx_binary()
    assert binary, "no ogx binary (run from the workspace's .venv)"
    env = dict(os.environ, OGX_DATA_DIR=str(workdir / "data"), PYTHONPYCACHEPREFIX=str(PYCACHE))
    proc = Owned(
        "ogx", [binary, "run", str(config), "--port", str(port), "--host", HOST], workdir / "ogx.log", env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = Connection(port, timeout=2)
            if conn.request(payloads.http_get("/v1/health", f"{HOST}:{port}")).status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.05)
        if not proc.alive():
            break
    proc.stop()
    raise RuntimeError(f"ogx did not start:\n{proc.log_tail()}")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def bench(url: str, transport: str, ogx_port: int, calls: int, rounds: int) -> dict[str, float]:
    host = f"{HOST}:{ogx_port}"
    conn = Connection(ogx_port)
    register = payloads.http_post(
        "/v1/toolgroups",
        json.dumps(
            {"toolgroup_id": "mcp::bench", "provider_id": "mcp", "mcp_endpoint": {"uri": url}}
        ).encode(),
        host,
    )
    answer = conn.request(register)
    assert answer.status == 200, answer.body
    # registered second, so `echo` (which both serve) resolves to the MCP server's
    builtin_group = json.dumps({"toolgroup_id": "builtin", "provider_id": "builtin"}).encode()
    assert conn.request(payloads.http_post("/v1/toolgroups", builtin_group, host)).status == 200
    invoke = payloads.http_post(
        "/v1/tool-runtime/invoke", json.dumps({"tool_name": "echo", "kwargs": ARGUMENTS}).encode(), host
    )
    client = sse_client(url) if transport == "sse" else streamable_http_client(url)
    direct: list[float] = []
    through: list[float] = []
    async with client as streams, ClientSession(streams[0], streams[1]) as sdk:
        await sdk.initialize()
        for _ in range(20):  # warm both sides
            await sdk.call_tool("echo", ARGUMENTS)
            assert conn.request(invoke).status == 200
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            for _ in range(per_round):
                started = time.perf_counter_ns()
                await sdk.call_tool("echo", ARGUMENTS)
                direct.append((time.perf_counter_ns() - started) / 1e6)
            for _ in range(per_round):
                answer = conn.request(invoke)
                assert answer.status == 200 and b'"hello"' in answer.body, answer.body
                assert b"structured_content" in answer.body  # the MCP echo (the built-in one has none)
                through.append(answer.total_ns / 1e6)
    # The server's own cost: an invoke of a built-in tool (no tool server) against /v1/health.
    health = payloads.http_get("/v1/health", host)
    builtin = payloads.http_post(
        "/v1/tool-runtime/invoke", json.dumps({"tool_name": "current_time", "kwargs": {}}).encode(), host
    )
    probe: list[float] = []
    local: list[float] = []
    for _ in range(rounds):
        for raw, samples in ((health, probe), (builtin, local)):
            for _ in range(per_round):
                answer = conn.request(raw)
                assert answer.status == 200, answer.body
                samples.append(answer.total_ns / 1e6)
    conn.close()
    return {
        "health_p50_ms": statistics.median(probe),
        "builtin_p50_ms": statistics.median(local),
        "calls": len(direct),
        "direct_p50_ms": statistics.median(direct),
        "direct_p99_ms": percentile(direct, 0.99),
        "ogx_p50_ms": statistics.median(through),
        "ogx_p99_ms": percentile(through, 0.99),
        "added_p50_ms": statistics.median(through) - statistics.median(direct),
        "added_p99_ms": percentile(through, 0.99) - percentile(direct, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    args = parser.parse_args()
    fixtures = load_mcp_fixtures()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = fixtures.start_server(args.transport, workdir)
        ogx, port = None, 0
        try:
            ogx, port = start_ogx(workdir)
            figures = asyncio.run(bench(server.url, args.transport, port, args.calls, args.rounds))
        finally:
            if ogx is not None:
                ogx.stop()
            server.stop()
    rows = [
        ("MCP SDK directly", "direct"),
        ("POST /v1/tool-runtime/invoke (OGX)", "ogx"),
        ("added by OGX", "added"),
    ]
    print(f"tool invocation, {args.transport}, {figures['calls']} calls each side, warm sessions")
    for label, key in rows:
        sign = "+" if key == "added" else ""
        p50, p99 = figures[f"{key}_p50_ms"], figures[f"{key}_p99_ms"]
        print(f"  {label:<36}p50 {p50:{sign}7.2f} ms   p99 {p99:{sign}7.2f} ms")
    print(f"  {'GET /v1/health':<36}p50 {figures['health_p50_ms']:7.2f} ms")
    print(
        f"  {'invoke of the built-in current_time':<36}p50 {figures['builtin_p50_ms']:7.2f} ms  (no tool server)"
    )


if __name__ == "__main__":
    main()
