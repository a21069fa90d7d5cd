"""Credentials of a Responses `mcp` tool reach its server and nothing else: a real MCP server
(the `mcp` SDK, in a thread) that refuses calls without a key in its URL's query, a header and
the `authorization` token; the response JSON, the stream's events, the stored response, the
database rows and the log (every logger at DEBUG) show none of them."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ogx.plugins import PluginInfo
from ogx.storage import create_engine, resolve_storage_url
from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

mcp_plugin = pytest.importorskip("ogx_mcp.plugin")
uvicorn = pytest.importorskip("uvicorn")

MODEL = "scripted/scripted"
QUERY_KEY, HEADER_KEY, TOKEN = "q-key-3141592", "h-key-2718281", "tok-1618033"
SECRETS = (QUERY_KEY, HEADER_KEY, TOKEN)
# Loggers of the MCP server this test runs in-process: its own log is not the OGX server's.
SERVER_SIDE = ("mcp.server", "uvicorn", "sse_starlette")


def _mcp_app() -> Any:
    from mcp.server.mcpserver import MCPServer
    from starlette.responses import Response

    server = MCPServer("vault")

    @server.tool(description="Open the vault.")
    def open_vault() -> str:
        return "the vault is open"

    app = server.streamable_http_app(host="127.0.0.1")

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if (
                f"api_key={QUERY_KEY}" not in scope["query_string"].decode()
                or headers.get(b"x-api-key") != HEADER_KEY.encode()
                or headers.get(b"authorization") != f"Bearer {TOKEN}".encode()
            ):
                await Response("missing credentials", status_code=401)(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


@pytest.fixture(scope="module")
def mcp_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_mcp_app(), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the MCP server did not start"
        time.sleep(0.02)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def backend() -> Iterator[ScriptedBackend]:
    rules = [
        Rule(last_role="user", contains="vault", reply=Reply(tool_calls=[ToolCall("open_vault", {})])),
        Rule(last_role="tool", reply=Reply(text=lambda r: "tool: " + r["messages"][-1]["content"])),
    ]
    with ScriptedBackend(rules, models=["scripted"]) as server:
        yield server


def _tree(backend: ScriptedBackend) -> dict[str, Any]:
    return {
        "server": {"outbound": {"allow_loopback": True}},
        "providers": {
            "inference": [
                {
                    "provider_id": "scripted",
                    "provider_type": "remote::scripted",
                    "config": {"base_url": backend.base_url},
                }
            ],
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"url_policy": {"allow_loopback": True}},
                }
            ],
        },
    }


MCP_PLUGIN = (PluginInfo(name="mcp", distribution="ogx-mcp", version="test"), mcp_plugin)


def _vault(url: str) -> dict[str, Any]:
    return {
        "type": "mcp",
        "server_label": "vault",
        "server_url": url,
        "headers": {"X-Api-Key": HEADER_KEY},
        "authorization": TOKEN,
        "require_approval": "never",
    }


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}"


def _assert_called(response: dict[str, Any], port: int) -> None:
    call = next(item for item in response["output"] if item["type"] == "mcp_call")
    assert call["output"] == "the vault is open" and call["error"] is None
    assert response["output"][-1]["content"][0]["text"] == "tool: the vault is open"
    (tool,) = response["tools"]
    assert tool["server_url"] == f"http://127.0.0.1:{port}/mcp?api_key=********&region=eu"
    assert tool["headers"] == {"X-Api-Key": "********"} and "authorization" not in tool


async def _wait_for(http: Any, response_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body = (await http.get(f"/v1/responses/{response_id}")).json()
        if body["status"] not in ("queued", "in_progress") or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def test_mcp_credentials_reach_the_server_but_never_a_response_row_or_log(
    serve, backend, mcp_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(
        logging.DEBUG, logger="httpx2"
    )  # `ogx run`, started in process by other tests, quiets it
    url = f"http://127.0.0.1:{mcp_port}/mcp?api_key={QUERY_KEY}&region=eu"
    tools = [_vault(url)]
    async with serve(_tree(backend), MCP_PLUGIN) as (http, _):
        created = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "the vault", "tools": tools}
        )
        assert created.status_code == 200, created.text
        first = created.json()
        streamed = await http.post(
            "/v1/responses",
            json={
                "model": MODEL,
                "input": "the vault again",
                "tools": tools,
                "stream": True,
                "previous_response_id": first["id"],
            },
        )
        events = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
        queued = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "the vault", "tools": tools, "background": True}
        )
        background = await _wait_for(http, queued.json()["id"])
        stored = [await http.get(f"/v1/responses/{r}") for r in (first["id"], events[-1]["response"]["id"])]
        listed = await http.get("/v1/responses")

    _assert_called(first, mcp_port)
    assert (events[0]["type"], events[-1]["type"]) == ("response.created", "response.completed")
    assert events[0]["response"]["tools"] == events[-1]["response"]["tools"]
    _assert_called(events[-1]["response"], mcp_port)
    assert background["status"] == "completed", background
    _assert_called(background, mcp_port)
    assert [s.json() for s in stored] == [first, events[-1]["response"]]
    for where, text in [
        ("the response", created.text),
        ("the stream", streamed.text),
        ("the background response", queued.text + json.dumps(background)),
        ("the stored responses", "".join(s.text for s in stored) + listed.text),
    ]:
        _assert_clean(text, where)

    engine = create_engine(resolve_storage_url(f"sqlite:///{tmp_path}/ogx.db", "raw", {}))
    try:
        async with engine.connect() as conn:
            rows = [repr(tuple(row)) for row in await conn.execute(sa.text("SELECT * FROM responses"))]
    finally:
        await engine.dispose()
    assert len(rows) == 3
    _assert_clean("".join(rows), "the responses table")

    ours = [r for r in caplog.records if not r.name.startswith(SERVER_SIDE)]
    _assert_clean("\n".join(caplog.handler.format(r) for r in ours), "the log")
    # The MCP client's HTTP library logged its requests, with the URL redacted.
    assert any(f"{mcp_port}/mcp?api_key=********" in r.getMessage() for r in ours if r.name == "httpx2")


async def test_mcp_failures_name_the_server_without_its_credentials(
    serve, backend, mcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]  # nothing listens once the socket is closed
    refused = _vault(f"http://user:{TOKEN}@127.0.0.1:{dead_port}/mcp?token={QUERY_KEY}")
    wrong_key = {**_vault(f"http://127.0.0.1:{mcp_port}/mcp?api_key=wrong"), "server_label": "wrong"}
    async with serve(_tree(backend), MCP_PLUGIN) as (http, _):
        created = await http.post(
            "/v1/responses", json={"model": MODEL, "input": "hello", "tools": [refused, wrong_key]}
        )
    assert created.status_code == 200, created.text
    errors = {
        i["server_label"]: i["error"] for i in created.json()["output"] if i["type"] == "mcp_list_tools"
    }
    assert (
        errors["vault"]
        == f"cannot connect to the MCP server at http://********@127.0.0.1:{dead_port}/mcp?token=********"
    )
    assert "refused the credentials (HTTP 401)" in errors["wrong"]
    _assert_clean(created.text, "the response")
    ours = [r for r in caplog.records if not r.name.startswith(SERVER_SIDE)]
    _assert_clean("\n".join(caplog.handler.format(r) for r in ours), "the log")


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_migration_13_redacts_the_mcp_urls_of_responses_stored_before(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    from ogx.storage import migrate
    from ogx.storage.migrations import MIGRATIONS

    url = f"sqlite:///{tmp_path}/old.db"
    if database == "postgresql":
        url = request.getfixturevalue("ogx_postgres_database")
    function = {"type": "function", "name": "f", "description": None, "parameters": None, "strict": None}
    old_mcp = {
        "type": "mcp",
        "server_label": "vault",
        "server_url": f"https://bot:{TOKEN}@mcp.example.com/mcp?api_key={QUERY_KEY}&region=eu",
        "headers": {"X-Api-Key": "<redacted>"},
        "require_approval": "never",
    }
    responses = sa.table(
        "responses",
        *(sa.column(name) for name in ("id", "created_at", "owner", "model", "status")),
        *(sa.column(name, sa.JSON) for name in ("response", "input_items", "messages")),
    )
    row = {
        "created_at": 1,
        "owner": None,
        "model": "m",
        "status": "completed",
        "input_items": [],
        "messages": [],
    }
    engine = create_engine(resolve_storage_url(url, "old", {}))
    try:
        await migrate(engine, MIGRATIONS[:12])
        async with engine.begin() as conn:
            await conn.execute(
                responses.insert(),
                [
                    {**row, "id": "resp_mcp", "response": {"id": "resp_mcp", "tools": [function, old_mcp]}},
                    {**row, "id": "resp_plain", "response": {"id": "resp_plain", "tools": [function]}},
                ],
            )
        assert await migrate(engine, MIGRATIONS[:13]) == [13]
        async with engine.connect() as conn:
            stored = dict((await conn.execute(sa.select(responses.c.id, responses.c.response))).all())
    finally:
        await engine.dispose()
    assert stored["resp_mcp"]["tools"] == [
        function,
        {
            **old_mcp,
            "server_url": "https://********@mcp.example.com/mcp?api_key=********&region=eu",
            "headers": {"X-Api-Key": "********"},
        },
    ]
    assert stored["resp_plain"] == {"id": "resp_plain", "tools": [function]}
    _assert_clean(json.dumps(stored), "the migrated rows")


def test_a_tool_group_shows_its_mcp_url_without_credentials() -> None:
    from ogx.tools.groups import RegisterToolGroupRequest, build_group

    uri = f"https://bot:{TOKEN}@mcp.example.com/mcp?api_key={QUERY_KEY}"
    body = {"toolgroup_id": "mcp::vault", "provider_id": "mcp", "mcp_endpoint": {"uri": uri}}
    group = build_group(RegisterToolGroupRequest.model_validate(body), owner=None, created_at_ns=1)
    assert group.endpoint is not None and group.endpoint.uri == uri  # called as given
    shown = group.to_api()["mcp_endpoint"]["uri"]
    assert shown == "https://********@mcp.example.com/mcp?api_key=********"
