"""Tool groups, tools, invocation and connectors, in-process: the built-in runtime
(`inline::builtin`) and a fake MCP-style runtime (`ogx_api.testing.fake_tools`) stand in for MCP
servers; the real ones are exercised end to end in `tests/test_tools_e2e.py`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ogx.config import parse_run_config
from ogx.plugins import PluginInfo, PluginManager
from ogx.server.app import create_app
from ogx_api import NotFound, ProviderSpec, hookimpl
from ogx_api.testing.fake_tools import FAKE_TOOLS_PROVIDER_TYPE, FakeToolRuntime, fake_tools_spec

PLUGIN = PluginInfo(name="fake-tools", distribution="ogx-api", version="test")


class FakeToolsPlugin:
    @hookimpl
    def ogx_provider_specs(self) -> list[ProviderSpec]:
        return [fake_tools_spec()]


RUNTIMES = {
    "tool_runtime": [
        {"provider_id": "builtin", "provider_type": "inline::builtin", "config": {"call_timeout": 1}},
        {"provider_id": "mcp", "provider_type": FAKE_TOOLS_PROVIDER_TYPE},
    ]
}


@pytest.fixture
def serve_tools(tmp_path: Path):
    @asynccontextmanager
    async def start(**tree: Any) -> AsyncIterator[httpx.AsyncClient]:
        tree = {
            "version": 2,
            "name": "tools",
            "storage": {"url": f"sqlite:///{tmp_path}/ogx.db"},
            "providers": RUNTIMES,
            **tree,
        }
        plugins = PluginManager(load_entry_points=False, plugins=[(PLUGIN, FakeToolsPlugin())], environ={})
        app = create_app(parse_run_config(tree, environ={}), plugins=plugins)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ogx.test") as client:
                yield client

    FakeToolRuntime.seen.clear()
    return start


BUILTIN_GROUP = {"toolgroup_id": "builtin::utils", "provider_id": "builtin"}
PUBLIC_MCP = {
    "toolgroup_id": "mcp::public",
    "provider_id": "mcp",
    "mcp_endpoint": {"uri": "http://93.184.215.14/mcp"},
    "args": {
        "headers": {"X-Tenant": "acme", "X-Api-Key": "k-123"},
        "authorization": "s3cret",
        "region": "eu",
    },
}


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


# -- tool groups -------------------------------------------------------------------------------


async def test_register_list_get_delete_a_tool_group(serve_tools) -> None:
    async with serve_tools() as client:
        created = await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        assert created.status_code == 200, created.text
        assert created.json() == {
            "identifier": "builtin::utils",
            "provider_resource_id": "builtin::utils",
            "provider_id": "builtin",
            "type": "tool_group",
            "mcp_endpoint": None,
            "args": None,
        }
        listed = (await client.get("/v1/toolgroups")).json()
        assert [g["identifier"] for g in listed["data"]] == ["builtin::utils"]
        assert (await client.get("/v1/toolgroups/builtin::utils")).json() == created.json()
        assert (await client.delete("/v1/toolgroups/builtin::utils")).status_code == 204
        missing = await client.get("/v1/toolgroups/builtin::utils")
        assert missing.status_code == 404
        assert "builtin::utils" in error_of(missing)["message"]
        assert (await client.delete("/v1/toolgroups/builtin::utils")).status_code == 404


async def test_tool_groups_persist_across_restarts(serve_tools) -> None:
    async with serve_tools() as client:
        assert (await client.post("/v1/toolgroups", json=PUBLIC_MCP)).status_code == 200
    async with serve_tools() as client:
        group = (await client.get("/v1/toolgroups/mcp::public")).json()
        assert group["mcp_endpoint"] == {"uri": "http://93.184.215.14/mcp"}
        result = (await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})).json()
    carried = result["metadata"]["structured_content"]
    assert carried["authorization"] == "Bearer s3cret"  # the stored secret still reaches the server
    assert carried["headers"] == {"X-Tenant": "acme", "X-Api-Key": "k-123"}


async def test_duplicate_tool_group_is_a_conflict(serve_tools) -> None:
    async with serve_tools() as client:
        assert (await client.post("/v1/toolgroups", json=BUILTIN_GROUP)).status_code == 200
        again = await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        assert again.status_code == 409
        assert error_of(again)["param"] == "toolgroup_id"


async def test_authorization_and_secret_headers_are_never_returned(
    serve_tools, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ogx")
    async with serve_tools() as client:
        created = await client.post("/v1/toolgroups", json=PUBLIC_MCP)
        listed = await client.get("/v1/toolgroups")
        fetched = await client.get("/v1/toolgroups/mcp::public")
    for response in (created, listed, fetched):
        assert response.status_code == 200
        assert "s3cret" not in response.text and "k-123" not in response.text
    args = fetched.json()["args"]
    assert args == {
        "headers": {"X-Tenant": "acme", "X-Api-Key": "********"},
        "region": "eu",
        "authorization": "********",
    }
    assert not [r for r in caplog.records if r.name.startswith("ogx") and "s3cret" in r.getMessage()]
    sent = FakeToolRuntime.seen[-1]  # registration listed the server's tools with the credentials
    assert sent.authorization is not None and sent.authorization.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"toolgroup_id": "x", "provider_id": "nope"}, "provider_id"),
        ({"toolgroup_id": "bad id/with slash", "provider_id": "builtin"}, "toolgroup_id"),
        ({"provider_id": "builtin"}, "toolgroup_id"),
        ({**PUBLIC_MCP, "args": {"headers": {"Authorization": "Bearer x"}}}, "args.headers"),
        ({**PUBLIC_MCP, "args": {"headers": ["not", "an", "object"]}}, "args.headers"),
        ({**PUBLIC_MCP, "args": {"authorization": 42}}, "args.authorization"),
        ({**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://127.0.0.1:9/mcp"}}, "mcp_endpoint.uri"),
        ({**PUBLIC_MCP, "mcp_endpoint": {"uri": "file:///etc/passwd"}}, "mcp_endpoint.uri"),
        ({**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://[::ffff:10.0.0.1]/mcp"}}, "mcp_endpoint.uri"),
        ({**PUBLIC_MCP, "unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_registrations_are_clear_400s_and_store_nothing(
    serve_tools, body: dict[str, Any], param: str
) -> None:
    async with serve_tools() as client:
        response = await client.post("/v1/toolgroups", json=body)
        assert response.status_code == 400, response.text
        assert error_of(response)["param"] == param
        assert (await client.get("/v1/toolgroups")).json() == {"data": []}


async def test_refused_url_names_the_rule(serve_tools) -> None:
    async with serve_tools() as client:
        response = await client.post(
            "/v1/toolgroups", json={**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://169.254.169.254/mcp"}}
        )
    assert response.status_code == 400
    assert error_of(response)["code"] == "url_refused"
    assert "allow_private_networks" in error_of(response)["message"]


async def test_outbound_policy_comes_from_the_run_config(serve_tools) -> None:
    async with serve_tools(server={"outbound": {"allow_loopback": True}}) as client:
        local = {**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://127.0.0.1:9/mcp"}}
        assert (await client.post("/v1/toolgroups", json=local)).status_code == 200


async def test_unreachable_server_is_not_registered(serve_tools) -> None:
    async with serve_tools() as client:
        body = {**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://unreachable.example/mcp"}}
        with_dns = await client.post("/v1/toolgroups", json=body)
        assert with_dns.status_code in (503, 400), with_dns.text  # no DNS in CI: unresolvable is 503 too
        assert (await client.get("/v1/toolgroups")).json() == {"data": []}


# -- tools and invocation ----------------------------------------------------------------------


async def test_list_and_get_tools(serve_tools) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        await client.post("/v1/toolgroups", json=PUBLIC_MCP)
        everything = (await client.get("/v1/tools")).json()["data"]
        assert {(t["toolgroup_id"], t["name"]) for t in everything} >= {
            ("builtin::utils", "current_time"),
            ("builtin::utils", "add"),
            ("mcp::public", "whoami"),
        }
        builtin = (await client.get("/v1/tools", params={"toolgroup_id": "builtin::utils"})).json()["data"]
        assert {t["toolgroup_id"] for t in builtin} == {"builtin::utils"}
        add = (await client.get("/v1/tools/add")).json()
        assert add["input_schema"]["properties"].keys() == {"a", "b"}
        assert set(add) == {
            "toolgroup_id",
            "name",
            "description",
            "input_schema",
            "output_schema",
            "metadata",
        }
        unknown = await client.get("/v1/tools/no_such_tool")
        assert unknown.status_code == 404
        assert "current_time" in error_of(unknown)["message"]  # it lists what exists
        unknown_group = await client.get("/v1/tools", params={"toolgroup_id": "nope"})
        assert unknown_group.status_code == 404


async def test_invoke_a_tool(serve_tools) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        response = await client.post(
            "/v1/tool-runtime/invoke", json={"tool_name": "add", "kwargs": {"a": 2, "b": 40}}
        )
    assert response.status_code == 200
    assert response.json() == {
        "content": [{"type": "text", "text": "42"}],
        "error_message": None,
        "error_code": None,
        "metadata": {"structured_content": {"result": 42.0}},
    }


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"a": "two", "b": 1}, "a: Input should be a valid number"),
        ({"a": 1}, "b: Field required"),
        ({"a": 1, "b": 2, "c": 3}, "c: Extra inputs are not permitted"),
    ],
)
async def test_bad_kwargs_are_a_tool_error_result(serve_tools, kwargs: dict[str, Any], expected: str) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        response = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "add", "kwargs": kwargs})
    assert response.status_code == 200
    result = response.json()
    assert result["error_code"] == 1
    assert expected in result["error_message"]


async def test_failing_tool_is_a_200_with_the_error(serve_tools) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        response = await client.post(
            "/v1/tool-runtime/invoke", json={"tool_name": "fail", "kwargs": {"message": "disk on fire"}}
        )
    assert response.status_code == 200
    assert response.json()["error_message"] == "disk on fire"


async def test_slow_tool_times_out_with_504(serve_tools) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        response = await client.post(
            "/v1/tool-runtime/invoke", json={"tool_name": "sleep", "kwargs": {"seconds": 30}}
        )
    assert response.status_code == 504
    assert "call_timeout" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"tool_name": "nope", "kwargs": {}}, 404, "tool_name"),
        ({"kwargs": {}}, 400, "tool_name"),
        ({"tool_name": "add", "kwargs": [1, 2]}, 400, "kwargs"),
        ({"tool_name": "add", "kwargs": "a=1"}, 400, "kwargs"),
    ],
)
async def test_bad_invocations(serve_tools, body: dict[str, Any], status: int, param: str) -> None:
    async with serve_tools() as client:
        await client.post("/v1/toolgroups", json=BUILTIN_GROUP)
        response = await client.post("/v1/tool-runtime/invoke", json=body)
    assert response.status_code == status, response.text
    assert error_of(response)["param"] == param


async def test_a_group_that_went_down_does_not_hide_the_others(serve_tools) -> None:
    down = {**PUBLIC_MCP, "toolgroup_id": "mcp::down", "mcp_endpoint": {"uri": "http://unreachable.test/mcp"}}
    async with serve_tools(registered_resources={"tool_groups": [down, BUILTIN_GROUP]}) as client:
        tools = (await client.get("/v1/tools")).json()["data"]
        assert {t["toolgroup_id"] for t in tools} == {"builtin::utils"}
        ok = await client.post(
            "/v1/tool-runtime/invoke", json={"tool_name": "echo", "kwargs": {"text": "hi"}}
        )
        assert ok.json()["content"] == [{"type": "text", "text": "hi"}]
        missing = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})
        assert missing.status_code == 404
        assert "mcp::down" in error_of(missing)["message"]


# -- declared in the run config ----------------------------------------------------------------


async def test_declared_tool_groups_are_listed_and_cannot_be_deleted_or_shadowed(serve_tools) -> None:
    local = {**PUBLIC_MCP, "mcp_endpoint": {"uri": "http://127.0.0.1:9/mcp"}}
    async with serve_tools(registered_resources={"tool_groups": [local, BUILTIN_GROUP]}) as client:
        ids = [g["identifier"] for g in (await client.get("/v1/toolgroups")).json()["data"]]
        assert ids == ["mcp::public", "builtin::utils"]
        assert (await client.delete("/v1/toolgroups/mcp::public")).status_code == 400
        assert (await client.post("/v1/toolgroups", json=BUILTIN_GROUP)).status_code == 409
        # a declared (trusted) loopback server is called, though the default policy refuses loopback
        result = (await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})).json()
        assert result["metadata"]["structured_content"]["uri"] == "http://127.0.0.1:9/mcp"


# -- connectors --------------------------------------------------------------------------------

CONNECTOR = {
    "connector_id": "crm",
    "url": "http://user:pw@127.0.0.1:9/mcp?key=abc",
    "server_label": "CRM",
    "description": "Customer records",
    "headers": {"X-Tenant": "acme"},
    "authorization": "connector-token",
}


async def test_connectors_are_listed_without_secrets(serve_tools) -> None:
    async with serve_tools(connectors=[CONNECTOR]) as client:
        listed = await client.get("/v1beta/connectors")
        one = await client.get("/v1beta/connectors/crm")
        missing = await client.get("/v1beta/connectors/nope")
    expected = {
        "connector_type": "mcp",
        "connector_id": "crm",
        "url": "http://********@127.0.0.1:9/mcp?key=********",
        "server_label": "CRM",
        "server_name": None,
        "server_description": "Customer records",
        "server_version": None,
    }
    assert listed.json() == {"data": [expected]}
    assert one.json() == expected
    assert "connector-token" not in listed.text + one.text and "pw" not in listed.text
    assert "abc" not in listed.text + one.text
    assert missing.status_code == 404
    assert "crm" in error_of(missing)["message"]


async def test_connector_tools_need_an_mcp_runtime(serve_tools) -> None:
    async with serve_tools(connectors=[CONNECTOR]) as client:
        response = await client.get("/v1beta/connectors/crm/tools")
    # the fake runtime is not remote::model-context-protocol: the message says what to install
    assert response.status_code == 400
    assert "ogx-mcp" in error_of(response)["message"]


async def test_endpoint_for_connector_carries_the_credentials(serve_tools) -> None:
    from ogx.tools import ToolsService  # the interface the Responses API uses

    async with serve_tools(connectors=[CONNECTOR]) as client:
        tools: ToolsService = client._transport.app.state.ogx.tools  # type: ignore[attr-defined]
        endpoint = tools.endpoint_for_connector("crm", None)
        assert endpoint.uri == CONNECTOR["url"]
        assert endpoint.authorization_header() == "Bearer connector-token"
        assert endpoint.headers == {"X-Tenant": "acme"}
        with pytest.raises(Exception, match="crm"):
            tools.endpoint_for_connector("nope", None)
        with pytest.raises(Exception, match="allow_loopback"):
            await tools.check_url("http://127.0.0.1:9/mcp")


# -- several workers, owners -------------------------------------------------------------------


async def test_a_group_registered_on_another_worker_is_found_at_once(serve_tools) -> None:
    async with serve_tools() as worker_a, serve_tools() as worker_b:  # one database, two apps
        assert (await worker_b.post("/v1/tool-runtime/invoke", json={"tool_name": "echo"})).status_code == 404
        assert (await worker_a.post("/v1/toolgroups", json=BUILTIN_GROUP)).status_code == 200
        response = await worker_b.post(
            "/v1/tool-runtime/invoke", json={"tool_name": "echo", "kwargs": {"text": "b"}}
        )
        assert response.status_code == 200
        assert response.json()["content"] == [{"type": "text", "text": "b"}]
        assert (await worker_b.delete("/v1/toolgroups/builtin::utils")).status_code == 204
        assert (await worker_a.get("/v1/toolgroups")).json() == {"data": []}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_tool_groups_are_private_to_their_owner(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    from ogx.encryption import SecretBox
    from ogx.storage import create_engine, migrate, resolve_storage_url
    from ogx.tools.groups import RegisterToolGroupRequest, ToolGroupStore, build_group

    url = f"sqlite:///{tmp_path}/owners.db"
    if database == "postgresql":
        url = request.getfixturevalue("ogx_postgres_database")
    engine = create_engine(resolve_storage_url(url, "owners"))
    try:
        await migrate(engine)
        store = ToolGroupStore(engine, SecretBox(bytes(32)))
        body = RegisterToolGroupRequest.model_validate(PUBLIC_MCP)
        await store.insert(build_group(body, owner="alice", created_at_ns=1))
        assert [g.id for g in await store.list("alice")] == ["mcp::public"]
        assert await store.list("bob") == [] and await store.list(None) == []
        assert await store.get("mcp::public", "bob") is None
        with pytest.raises(NotFound):
            await store.delete("mcp::public", "bob")
        stored = await store.get("mcp::public", "alice")
        assert stored is not None and stored.endpoint is not None
        assert stored.endpoint.authorization is not None
        assert stored.endpoint.authorization.get_secret_value() == "s3cret"
    finally:
        await engine.dispose()


def test_run_config_checks_tool_groups_and_connectors() -> None:
    from ogx.config.errors import ConfigError

    tree = {
        "version": 2,
        "providers": RUNTIMES,
        "registered_resources": {
            "tool_groups": [BUILTIN_GROUP, BUILTIN_GROUP, {"toolgroup_id": "x", "provider_id": "nope"}]
        },
        "connectors": [
            {"connector_id": "a", "url": "http://a/mcp"},
            {"connector_id": "a", "url": "http://b/mcp"},
            {"connector_id": "c", "url": "http://c/mcp", "headers": {"Authorization": "Bearer x"}},
        ],
    }
    with pytest.raises(ConfigError) as info:
        parse_run_config(tree, environ={})
    problems = "\n".join(info.value.problems)
    assert "connectors[2]" in problems and "authorization" in problems  # checked first, by the schema
    tree["connectors"] = tree["connectors"][:2]
    with pytest.raises(ConfigError) as info:
        parse_run_config(tree, environ={})
    assert info.value.problems == [
        "registered_resources.tool_groups[1]: toolgroup_id 'builtin::utils' is already used at "
        "registered_resources.tool_groups[0]",
        "registered_resources.tool_groups[2].provider_id: no tool_runtime provider 'nope' "
        "(tool_runtime providers: builtin, mcp)",
        "connectors[1]: connector_id 'a' is already used at connectors[0]",
    ]
