"""A real MCP server (mcp SDK 2.x `MCPServer`) for the tests, run as a subprocess:

    python mcp_test_server.py streamable-http|sse [PORT]

It binds PORT (default: a free loopback port), prints `PORT <n>` on stdout, then serves `/mcp` (streamable
HTTP) or `/sse` + `/messages/` (SSE). `/moved` redirects (307) to the MCP path on the same
origin; `/elsewhere` redirects to another origin.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, EmbeddedResource, TextContent, TextResourceContents
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

server = MCPServer("ogx-test-server", warn_on_duplicate_tools=False)


class Weather(BaseModel):
    city: str
    celsius: float
    conditions: str


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Return the text unchanged.")
def echo(text: str) -> str:
    return text


@server.tool(description="Always fails with the given message.")
def fail(message: str = "the tool failed") -> str:
    raise ToolError(message)  # a ToolError's message reaches the client; other exceptions' do not


@server.tool(description="Answer tools/call with a JSON-RPC error instead of a result.")
def protocol_error() -> str:
    raise MCPError(INVALID_PARAMS, "the cursor is stale")


@server.tool(description="Report the Authorization and X-Test headers this request carried.")
def whoami(ctx: Context) -> dict[str, str | None]:
    headers = ctx.headers or {}
    return {"authorization": headers.get("authorization"), "x_test": headers.get("x-test")}


@server.tool(description="An identifier of the MCP session this call arrived on.")
def session_id(ctx: Context) -> str:
    request = ctx.request_context.request  # streamable HTTP names it in a header, SSE in the query
    assert request is not None
    return str(request.headers.get("mcp-session-id") or request.query_params.get("session_id"))


@server.tool(description="A 1x1 PNG and a caption.", structured_output=False)
def pixel() -> list[object]:
    return [Image(data=PIXEL, format="png"), "a transparent pixel"]


@server.tool(description="Structured weather for a city.")
def weather(city: str) -> Weather:
    return Weather(city=city, celsius=21.5, conditions="sunny")


@server.tool(description="A text item and an embedded resource.", structured_output=False)
def document() -> list[object]:
    resource = TextResourceContents(uri="file:///notes.txt", mime_type="text/plain", text="notes")
    return [
        TextContent(type="text", text="see the notes"),
        EmbeddedResource(type="resource", resource=resource),
    ]


@server.tool(description="Sleep, then answer.")
async def sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool(description="Exit the server process in the middle of the call.")
async def die() -> str:
    await asyncio.sleep(0.05)
    os._exit(3)


@server.tool(description="Return `size` bytes of text.")
def big(size: int) -> str:
    return "x" * size


@server.tool(description="Register a new tool `name` and announce that the tool list changed.")
async def grow(name: str, ctx: Context) -> str:
    server.add_tool(lambda: name, name=name, description=f"added at run time: {name}")
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


async def moved(request: Request) -> Response:
    return RedirectResponse(f"/{request.path_params['target']}", status_code=307)


async def elsewhere(request: Request) -> Response:
    port = request.url.port
    return RedirectResponse(f"http://localhost:{port}/mcp", status_code=307)


class RejectToken:
    """Answers 401 to requests carrying `Authorization: Bearer reject-me`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"authorization", b"Bearer reject-me") in scope["headers"]:
            await Response("unauthorized", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def main() -> None:
    transport = sys.argv[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
    if transport == "streamable-http":
        app = server.streamable_http_app(host="127.0.0.1")
    else:
        app = server.sse_app(host="127.0.0.1")
    app.add_route("/moved/{target:path}", moved, methods=["GET", "POST", "DELETE"])
    app.add_route("/elsewhere", elsewhere, methods=["GET", "POST", "DELETE"])
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(RejectToken(app), log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
