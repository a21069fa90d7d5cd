"""Tool groups, tools, invocation and connectors end to end: `ogx run` with ogx-mcp in front of
real MCP servers (the `mcp` SDK's `MCPServer`, `plugins/ogx-mcp/tests/mcp_test_server.py`),
over streamable HTTP and SSE, driven with httpx."""

from __future__ import annotations

import base64
import importlib.util
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

_FIXTURES = Path(__file__).parents[1] / "plugins" / "ogx-mcp" / "tests" / "conftest.py"
_spec = importlib.util.spec_from_file_location("ogx_mcp_test_servers", _FIXTURES)
assert _spec is not None and _spec.loader is not None
mcp_servers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mcp_servers  # its dataclass looks its module up
_spec.loader.exec_module(mcp_servers)

TRANSPORTS = ["streamable-http", "sse"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, Any]]:
    log_dir = tmp_path_factory.mktemp("mcp")
    started = {transport: mcp_servers.start_server(transport, log_dir) for transport in TRANSPORTS}
    yield started
    for server in started.values():
        server.stop()


def run_config(servers: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 2,
        "name": "e2e-tools",
        "providers": {
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"timeouts": {"connect": 5, "call": 2, "total": 10}},
                },
                {"provider_id": "builtin", "provider_type": "inline::builtin"},
            ]
        },
        "server": {"outbound": {"allow_loopback": True}},  # the test's MCP servers are on loopback
        "connectors": [
            {
                "connector_id": "test-sse",
                "url": servers["sse"].url,
                "server_label": "SSE test server",
                "authorization": "connector-token",
            }
        ],
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ogx-tools")


@pytest.fixture(scope="module")
def ogx(ogx_runner, servers, workdir) -> Iterator[httpx.Client]:
    with ogx_runner(run_config(servers), workdir) as server:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            yield client
        # 504s are expected (the slow tool); a 500 or a traceback is not
        bad = [line for line in server.log().splitlines() if "Traceback" in line or '" 500' in line]
        assert not bad, "server errors in the log:\n" + "\n".join(bad[:20])


def group(transport: str, url: str) -> dict[str, Any]:
    return {
        "toolgroup_id": f"mcp::{transport}",
        "provider_id": "mcp",
        "mcp_endpoint": {"uri": url},
        "args": {"headers": {"X-Test": f"via {transport}"}, "authorization": "group-token"},
    }


def invoke(client: httpx.Client, tool_name: str, **kwargs: Any) -> httpx.Response:
    return client.post("/v1/tool-runtime/invoke", json={"tool_name": tool_name, "kwargs": kwargs})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_list_invoke_and_delete(ogx: httpx.Client, servers: dict[str, Any], transport: str) -> None:
    registered = ogx.post("/v1/toolgroups", json=group(transport, servers[transport].url))
    assert registered.status_code == 200, registered.text
    assert "group-token" not in registered.text
    try:
        tools = ogx.get("/v1/tools", params={"toolgroup_id": f"mcp::{transport}"}).json()["data"]
        by_name = {tool["name"]: tool for tool in tools}
        assert {"echo", "add", "fail", "whoami"} <= set(by_name)
        assert by_name["add"]["input_schema"]["required"] == ["a", "b"]
        assert by_name["add"]["toolgroup_id"] == f"mcp::{transport}"

        echoed = invoke(ogx, "echo", text="héllo")
        assert echoed.status_code == 200
        assert echoed.json()["content"] == [{"type": "text", "text": "héllo"}]
        # the group's headers and authorization reached the server
        who = invoke(ogx, "whoami").json()["metadata"]["structured_content"]
        assert who == {"authorization": "Bearer group-token", "x_test": f"via {transport}"}
        # a tool that raises, and arguments that do not fit: results with the error, not 5xx
        failed = invoke(ogx, "fail", message="the disk is on fire")
        assert failed.status_code == 200
        assert "the disk is on fire" in failed.json()["error_message"]
        bad_args = invoke(ogx, "add", a="many")
        assert bad_args.status_code == 200 and bad_args.json()["error_code"] == 1
        # a tool the server does not have, and a slow one beyond the call timeout
        assert invoke(ogx, "no_such_tool").status_code == 404
        slow = invoke(ogx, "sleep", seconds=30)
        assert slow.status_code == 504, slow.text
        assert invoke(ogx, "echo", text="still fine").json()["content"][0]["text"] == "still fine"
    finally:
        assert ogx.delete(f"/v1/toolgroups/mcp::{transport}").status_code == 204
    assert invoke(ogx, "echo", text="gone").status_code == 404


def test_per_request_credentials_reach_the_server_and_do_not_stay(
    ogx: httpx.Client, servers: dict[str, Any]
) -> None:
    url = servers["streamable-http"].url
    assert ogx.post("/v1/toolgroups", json=group("per-request", url)).status_code == 200
    try:
        provider_data = {
            "mcp_headers": {url: {"X-Test": "per request"}},
            "mcp_authorization": {url: "request-token"},
        }
        with_data = ogx.post(
            "/v1/tool-runtime/invoke",
            json={"tool_name": "whoami"},
            headers={"X-OGX-Provider-Data": json.dumps(provider_data)},
        )
        assert with_data.json()["metadata"]["structured_content"] == {
            "authorization": "Bearer request-token",
            "x_test": "per request",
        }
        without = invoke(ogx, "whoami").json()["metadata"]["structured_content"]
        assert without == {"authorization": "Bearer group-token", "x_test": "via per-request"}
    finally:
        assert ogx.delete("/v1/toolgroups/mcp::per-request").status_code == 204


def test_refused_urls_are_400s_naming_the_rule(ogx: httpx.Client) -> None:
    for uri, rule in [
        ("http://10.1.2.3/mcp", "allow_private_networks"),
        ("ftp://127.0.0.1/mcp", "allowed_schemes"),
    ]:
        response = ogx.post("/v1/toolgroups", json=group("refused", uri))
        assert response.status_code == 400, response.text
        assert rule in response.json()["error"]["message"]
    assert all(g["identifier"] != "mcp::refused" for g in ogx.get("/v1/toolgroups").json()["data"])


def test_connectors(ogx: httpx.Client, servers: dict[str, Any]) -> None:
    listed = ogx.get("/v1beta/connectors").json()["data"]
    assert [c["connector_id"] for c in listed] == ["test-sse"]
    assert listed[0]["url"] == servers["sse"].url
    assert "connector-token" not in ogx.get("/v1beta/connectors/test-sse").text
    tools = ogx.get("/v1beta/connectors/test-sse/tools").json()["data"]
    assert "echo" in {tool["name"] for tool in tools}
    add = ogx.get("/v1beta/connectors/test-sse/tools/add").json()
    assert add["description"] == "Add two integers."
    assert ogx.get("/v1beta/connectors/test-sse/tools/nope").status_code == 404
    assert ogx.get("/v1beta/connectors/nope/tools").status_code == 404


def test_a_url_with_credentials_is_encrypted_at_rest_and_used_after_a_restart_with_a_new_key(
    ogx_runner, servers: dict[str, Any], tmp_path: Path
) -> None:
    from ogx.encryption import SecretBox, generate_key

    real = servers["streamable-http"].url.replace("http://", "http://bot:url-pa55@") + "?api_key=url-k3y"
    redacted = real.replace("bot:url-pa55", "********").replace("url-k3y", "********")
    body = {"toolgroup_id": "mcp::url-credentials", "provider_id": "mcp", "mcp_endpoint": {"uri": real}}
    basic = "Basic " + base64.b64encode(b"bot:url-pa55").decode()  # what httpx makes of the userinfo
    key_1, key_2 = generate_key(), generate_key()

    def database_row() -> str:
        with sqlite3.connect(tmp_path / "data" / "e2e-tools" / "ogx.db") as db:
            return repr(db.execute("SELECT * FROM tool_groups").fetchall())

    with ogx_runner(run_config(servers), tmp_path, env={"OGX_SECRET_KEY": key_1}) as first:
        with httpx.Client(base_url=first.base_url, timeout=30) as client:
            assert client.post("/v1/toolgroups", json=body).status_code == 200
            shown = client.get("/v1/toolgroups/mcp::url-credentials").json()
            listed = client.get("/v1/toolgroups").json()["data"]
            who = invoke(client, "whoami").json()["metadata"]["structured_content"]
        first.assert_no_server_errors()
    assert shown["mcp_endpoint"] == {"uri": redacted} and listed == [shown]
    assert who["authorization"] == basic  # the real URI, userinfo included, reached the server
    row = database_row()
    assert "url-pa55" not in row and "url-k3y" not in row and "/mcp" not in row

    rotating = {"OGX_SECRET_KEY": key_2, "OGX_PREVIOUS_SECRET_KEYS": key_1}
    with ogx_runner(run_config(servers), tmp_path, env=rotating) as second:
        with httpx.Client(base_url=second.base_url, timeout=30) as client:
            who = invoke(client, "whoami").json()["metadata"]["structured_content"]
            added = invoke(client, "add", a=2, b=3).json()
        second.assert_no_server_errors()
    assert who["authorization"] == basic and added["content"] == [{"type": "text", "text": "5"}]
    new_key_id = SecretBox(base64.urlsafe_b64decode(key_2)).key_id
    assert database_row().count(f"ogxenc1:{new_key_id}:") == 1  # re-sealed under the new key
