"""Real MCP servers for the tests: `mcp_test_server.py` in subprocesses on free loopback ports."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_SCRIPT = Path(__file__).with_name("mcp_test_server.py")
START_TIMEOUT = 30.0


@dataclass
class McpTestServer:
    transport: str  # "streamable-http" or "sse"
    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/mcp" if self.transport == "streamable-http" else f"{self.base_url}/sse"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_server(transport: str, log_dir: Path, port: int = 0) -> McpTestServer:
    """Start `mcp_test_server.py` (on `port`, or a free one), wait until it accepts connections;
    fail with its log if not."""
    log = log_dir / f"mcp-{transport}-{time.monotonic_ns()}.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), transport, str(port)],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()  # the script prints its port before anything slow can fail
    if not line.startswith("PORT "):
        process.kill()
        process.wait()
        pytest.fail(f"the MCP test server did not start:\n{log.read_text()[-3000:]}")
    server = McpTestServer(transport, int(line.split()[1]), process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the MCP test server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    pytest.fail(f"the MCP test server did not listen within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def mcp_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, McpTestServer]]:
    """One streamable-HTTP and one SSE server for the whole session, keyed by transport."""
    log_dir = tmp_path_factory.mktemp("mcp-servers")
    servers = {transport: start_server(transport, log_dir) for transport in ("streamable-http", "sse")}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def fresh_mcp_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[McpTestServer]:
    """A server of its own for a test that kills it or changes its tools (parametrise
    `transport` indirectly, default streamable HTTP)."""
    transport = getattr(request, "param", "streamable-http")
    server = start_server(transport, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def start_mcp_server(tmp_path: Path) -> Iterator[Callable[..., McpTestServer]]:
    """`start_mcp_server(transport, port=0)`: a server the test controls; stopped at the end."""
    started: list[McpTestServer] = []

    def start(transport: str, port: int = 0) -> McpTestServer:
        started.append(start_server(transport, tmp_path, port))
        return started[-1]

    yield start
    for server in started:
        server.stop()
