"""Secrets at rest (`ogx.encryption`): tool-group credentials and MCP server URIs and
background-response requests are encrypted in the database, the key comes from the run config,
`OGX_SECRET_KEY` or a key file made once (mode 0600, one key however many workers start at once),
migrations 11 and 14 encrypt what an older server stored in plain text, and a server holding the
wrong key says so and keeps serving."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import stat
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config import ConfigError, parse_run_config
from ogx.encryption import KEY_FILE, SecretBox, SecretUnreadable, configured_key, generate_key, key_file_box
from ogx.plugins import PluginInfo, PluginManager
from ogx.server.app import create_app
from ogx.storage import create_engine, migrate, resolve_storage_url
from ogx.storage.migrations import MIGRATIONS
from ogx_api import ProviderSpec, hookimpl
from ogx_api.testing.fake_tools import FAKE_TOOLS_PROVIDER_TYPE, fake_tools_spec

KEY_1, KEY_2 = generate_key(), generate_key()
TOKEN, API_KEY, TENANT = "s3cret-token", "k-123-api-key", "acme-tenant"
URL_PASSWORD, URL_KEY = "url-pa55word", "url-k3y-in-query"
URI = f"http://bot:{URL_PASSWORD}@93.184.215.14/mcp?api_key={URL_KEY}&region=eu"
REDACTED_URI = "http://********@93.184.215.14/mcp?api_key=********&region=eu"  # as the API shows it
STORED_URI = "http://********@93.184.215.14/********"  # what the database keeps in plain text
GROUP = {
    "toolgroup_id": "mcp::private",
    "provider_id": "mcp",
    "mcp_endpoint": {"uri": URI},
    "args": {"headers": {"X-Tenant": TENANT, "X-Api-Key": API_KEY}, "authorization": TOKEN, "region": "eu"},
}
OTHER_GROUP = {**GROUP, "toolgroup_id": "mcp::other", "args": {"authorization": "other-token"}}
URI_ONLY_GROUP = {"toolgroup_id": "mcp::uri-only", "provider_id": "mcp", "mcp_endpoint": {"uri": URI}}


class FakeToolsPlugin:
    @hookimpl
    def ogx_provider_specs(self) -> list[ProviderSpec]:
        return [fake_tools_spec()]


@pytest.fixture
def serve(tmp_path: Path):
    """`async with serve(environ, **run_config) as client`: one database and data dir per test."""

    @asynccontextmanager
    async def start(environ: dict[str, str], **tree: Any) -> AsyncIterator[httpx.AsyncClient]:
        tree = {
            "version": 2,
            "name": "secrets",
            "storage": {"url": f"sqlite:///{tmp_path}/ogx.db"},
            "providers": {
                "tool_runtime": [{"provider_id": "mcp", "provider_type": FAKE_TOOLS_PROVIDER_TYPE}]
            },
            **tree,
        }
        environ = {"OGX_DATA_DIR": str(tmp_path / "data"), **environ}
        plugins = PluginManager(
            load_entry_points=False,
            plugins=[
                (PluginInfo(name="fake-tools", distribution="ogx-api", version="test"), FakeToolsPlugin())
            ],
            environ={},
        )
        app = create_app(parse_run_config(tree, environ=environ), plugins=plugins, environ=environ)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ogx.test") as client:
                yield client

    return start


async def raw_rows(url: str, table: str) -> list[str]:
    """Every row of `table` as the database holds it, each rendered as one string."""
    engine = create_engine(resolve_storage_url(url, "raw", {}))
    try:
        async with engine.connect() as conn:
            return [repr(tuple(row)) for row in await conn.execute(sa.text(f"SELECT * FROM {table}"))]
    finally:
        await engine.dispose()


def assert_no_plaintext(rows: list[str], *secrets: str) -> None:
    assert rows
    for secret in secrets:
        assert not any(secret in row for row in rows), f"{secret!r} is stored in plain text"


# -- tool groups through the server ------------------------------------------------------------


async def test_tool_group_credentials_are_encrypted_at_rest_and_still_reach_the_server(
    serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve({}) as client:
        created = await client.post("/v1/toolgroups", json=GROUP)
        assert created.status_code == 200, created.text
    key_file = tmp_path / "data" / "secrets" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    rows = await raw_rows(f"sqlite:///{tmp_path}/ogx.db", "tool_groups")
    assert_no_plaintext(rows, TOKEN, API_KEY, TENANT, URL_PASSWORD, URL_KEY, "/mcp")
    assert "ogxenc1:" in rows[0] and '"region": "eu"' in rows[0]  # what is not a secret stays readable
    assert STORED_URI in rows[0]  # the scheme and host stay readable

    async with serve({}) as client:  # restarted: the key file is read back
        group = (await client.get("/v1/toolgroups/mcp::private")).json()
        listed = (await client.get("/v1/toolgroups")).json()["data"]
        result = (await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})).json()
    assert group["mcp_endpoint"] == {"uri": REDACTED_URI} and listed == [group]
    assert group["args"] == {
        "headers": {"X-Tenant": TENANT, "X-Api-Key": "********"},
        "authorization": "********",
        "region": "eu",
    }
    carried = result["metadata"]["structured_content"]
    assert carried["uri"] == URI  # the real URI, credentials included, is the one called
    assert carried["authorization"] == f"Bearer {TOKEN}"
    assert carried["headers"] == {"X-Tenant": TENANT, "X-Api-Key": API_KEY}
    assert key_file.read_text().strip() not in caplog.text  # the key is never logged
    for secret in (TOKEN, API_KEY, URL_PASSWORD, URL_KEY):
        assert secret not in caplog.text


async def test_a_wrong_key_is_a_clear_error_and_the_other_groups_keep_working(
    serve, caplog: pytest.LogCaptureFixture
) -> None:
    from ogx_api.testing.fake_tools import FakeToolRuntime

    async with serve({"OGX_SECRET_KEY": KEY_1}) as client:
        assert (await client.post("/v1/toolgroups", json=GROUP)).status_code == 200
        assert (await client.post("/v1/toolgroups", json=URI_ONLY_GROUP)).status_code == 200
    caplog.set_level(logging.WARNING, logger="ogx.tools.service")
    FakeToolRuntime.seen.clear()
    async with serve({"OGX_SECRET_KEY": KEY_2}) as client:  # another key: the server still starts
        listed = (await client.get("/v1/toolgroups")).json()["data"]
        tools = await client.get("/v1/tools", params={"toolgroup_id": "mcp::private"})
        uri_only = await client.get("/v1/tools", params={"toolgroup_id": "mcp::uri-only"})
        assert (await client.post("/v1/toolgroups", json=OTHER_GROUP)).status_code == 200
        result = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})
    # still listed, redacted as always
    assert [g["identifier"] for g in listed] == ["mcp::private", "mcp::uri-only"]
    assert listed[0]["args"]["authorization"] == "********"
    assert [g["mcp_endpoint"] for g in listed] == [{"uri": STORED_URI}] * 2
    # a group whose only secret is its URI fails the same way, naming what cannot be read
    assert uri_only.status_code == 500 and uri_only.json()["error"]["code"] == "secret_unreadable"
    assert "cannot decrypt the MCP server URL of tool group 'mcp::uri-only'" in uri_only.text
    assert all("********" not in endpoint.uri for endpoint in FakeToolRuntime.seen)  # never called redacted
    assert tools.status_code == 500
    error = tools.json()["error"]
    box_1, box_2 = (
        configured_key(None, {"OGX_SECRET_KEY": KEY_1}),
        configured_key(None, {"OGX_SECRET_KEY": KEY_2}),
    )
    assert box_1 is not None and box_2 is not None
    assert error["code"] == "secret_unreadable" and error["param"] == "toolgroup_id"
    assert "'mcp::private'" in error["message"] and box_1.key_id in error["message"]
    assert box_2.key_id in error["message"] and "OGX_SECRET_KEY" in error["message"]
    assert KEY_1 not in error["message"] and KEY_2 not in error["message"]
    assert (
        f"2 registered tool groups have credentials encrypted with secret key {box_1.key_id}" in caplog.text
    )
    # The group registered with this key serves the tool; the unreadable one is never called without
    # its credentials.
    assert result.status_code == 200
    assert result.json()["metadata"]["structured_content"]["authorization"] == "Bearer other-token"
    assert result.json()["metadata"]["structured_content"]["uri"] == URI


async def test_without_the_key_that_encrypted_them_credentials_are_never_sent_empty(
    serve, tmp_path: Path
) -> None:
    async with serve({}) as client:
        assert (await client.post("/v1/toolgroups", json=GROUP)).status_code == 200
    (tmp_path / "data" / "secrets" / KEY_FILE).unlink()  # the key is lost: a new one is made
    async with serve({}) as client:
        invoked = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})
    assert invoked.status_code == 404
    message = invoked.json()["error"]["message"]
    assert "mcp::private: cannot decrypt the credentials of tool group 'mcp::private'" in message


@pytest.mark.parametrize(
    ("uri", "kept"),
    [
        (URI, STORED_URI),
        ("https://actions.example.com/mcp/sk-ak-path-token/sse", "https://actions.example.com/********"),
        ("https://mcp.example.com:8443", "https://mcp.example.com:8443"),
        ("https://mcp.example.com/?region=eu", "https://mcp.example.com/********"),
        ("no scheme", "<unparseable URL>"),
    ],
)
def test_only_the_scheme_and_host_of_a_tool_group_uri_stay_readable_at_rest(uri: str, kept: str) -> None:
    from ogx.redaction import redact_tool_uri

    assert redact_tool_uri(uri) == kept  # a secret in the path cannot be recognised: the path goes


# -- migration 11: what an older server stored in plain text -----------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def old_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A database to migrate step by step (its URL and engine), on SQLite and PostgreSQL."""
    url = f"sqlite:///{tmp_path}/old.db"
    if request.param == "postgresql":
        url = request.getfixturevalue("ogx_postgres_database")
    engine = create_engine(resolve_storage_url(url, "old", {}))
    yield url, engine
    await engine.dispose()


_OLD_GROUPS = sa.table(  # tool_groups as migration 7 made it
    "tool_groups",
    *(sa.column(name) for name in ("id", "owner", "created_at", "provider_id", "authorization")),
    sa.column("mcp_endpoint", sa.JSON),
    sa.column("args", sa.JSON),
)
_RESPONSES = sa.table(
    "responses",
    *(sa.column(name) for name in ("id", "created_at", "owner", "model", "status")),
    *(sa.column(name, sa.JSON) for name in ("response", "input_items", "messages", "request")),
)
MCP_REQUEST = {
    "model": "m",
    "input": "hi",
    "background": True,
    "tools": [
        {"type": "mcp", "server_label": "s", "server_url": "http://93.184.215.14/mcp", "authorization": TOKEN}
    ],
}


def _response_row(response_id: str, request: Any) -> dict[str, Any]:
    return {
        "id": response_id,
        "created_at": 1,
        "owner": None,
        "model": "m",
        "status": "completed",
        "response": {"id": response_id},
        "input_items": [],
        "messages": [],
        "request": request,
    }


async def test_migration_11_encrypts_plaintext_secrets_in_place(
    old_database: tuple[str, AsyncEngine],
) -> None:
    from ogx.responses.store import ResponseStore
    from ogx.tools.groups import ToolGroupStore

    _, engine = old_database
    box = SecretBox(_raw(KEY_1))
    already_sealed = box.seal(MCP_REQUEST, "responses.request:resp_new")
    assert await migrate(engine, MIGRATIONS[:10]) == list(range(1, 11))
    async with engine.begin() as conn:
        group = {"owner": "alice", "created_at": 1, "provider_id": "mcp"}
        endpoint = {"uri": "http://93.184.215.14/mcp", "transport": "auto"}
        args = {"headers": {"X-Tenant": TENANT, "X-Api-Key": API_KEY}, "region": "eu"}
        await conn.execute(
            _OLD_GROUPS.insert(),
            [
                {**group, "id": "a", "mcp_endpoint": endpoint, "args": args, "authorization": TOKEN},
                {**group, "id": "b", "mcp_endpoint": None, "args": {}, "authorization": None},
            ],
        )
        await conn.execute(
            _RESPONSES.insert(),
            [
                _response_row("resp_old", MCP_REQUEST),
                _response_row("resp_plain", None),
                _response_row("resp_new", already_sealed),
            ],
        )
    with pytest.raises(RuntimeError, match="give migrate\\(\\) the server's SecretBox"):
        await migrate(engine)  # plaintext to encrypt, and no key: nothing changes
    assert await migrate(engine, MIGRATIONS[:11], box=box) == [11]
    assert await migrate(engine, MIGRATIONS[:11], box=box) == []
    await migrate(engine, box=box)  # the store reads the current schema

    async with engine.connect() as conn:
        rows = [
            repr(tuple(row))
            for table in ("tool_groups", "responses")
            for row in await conn.execute(sa.text(f"SELECT * FROM {table}"))
        ]
        sealed_new = (
            await conn.execute(sa.text("SELECT request FROM responses WHERE id = 'resp_new'"))
        ).scalar()
    assert_no_plaintext(rows, TOKEN, API_KEY, TENANT)
    groups = ToolGroupStore(engine, box)
    migrated = await groups.get("a", "alice")
    assert (
        migrated is not None and migrated.endpoint is not None and migrated.endpoint.authorization is not None
    )
    assert migrated.endpoint.authorization.get_secret_value() == TOKEN
    assert migrated.endpoint.headers == {"X-Tenant": TENANT, "X-Api-Key": API_KEY}
    assert migrated.args == args and migrated.unreadable is None
    plain = await groups.get("b", "alice")
    assert plain is not None and plain.endpoint is None and plain.args == {}
    responses = ResponseStore(engine, box)
    assert responses.request_of(await responses.get_any("resp_old")) == MCP_REQUEST
    assert (await responses.get_any("resp_plain")).request is None
    assert already_sealed in str(sealed_new)  # recognised as encrypted: left as it was


# -- migration 14: tool group URIs an older server stored in plain text ------------------------

_GROUPS_V13 = sa.table(  # tool_groups as migration 11 left it
    "tool_groups",
    *(sa.column(name) for name in ("id", "owner", "created_at", "provider_id", "secrets")),
    sa.column("mcp_endpoint", sa.JSON),
    sa.column("args", sa.JSON),
)


async def test_migration_14_encrypts_plaintext_tool_group_uris(old_database: tuple[str, AsyncEngine]) -> None:
    from ogx.tools.groups import ToolGroupStore

    url, engine = old_database
    box, other_key = SecretBox(_raw(KEY_1)), SecretBox(_raw(KEY_2))
    assert await migrate(engine, MIGRATIONS[:13]) == list(range(1, 14))
    async with engine.begin() as conn:
        group = {"owner": "alice", "created_at": 1, "provider_id": "mcp", "args": {}, "secrets": None}
        await conn.execute(
            _GROUPS_V13.insert(),
            [
                {**group, "id": "a", "mcp_endpoint": {"uri": URI, "transport": "sse"}},
                {**group, "id": "b", "mcp_endpoint": None},
                {  # credentials another key sealed: the migration needs only to seal
                    **group,
                    "id": "c",
                    "mcp_endpoint": {"uri": URI, "transport": "auto"},
                    "args": {"authorization": "********"},
                    "secrets": other_key.seal({"authorization": TOKEN}, "tool_groups.secrets:c"),
                },
            ],
        )
    with pytest.raises(RuntimeError, match="give migrate\\(\\) the server's SecretBox"):
        await migrate(engine)  # plaintext to encrypt, and no key: nothing changes
    assert await migrate(engine, MIGRATIONS[:14], box=box) == [14]
    assert await migrate(engine, MIGRATIONS[:14], box=box) == []
    await migrate(engine, box=box)  # the store reads the current schema

    rows = await raw_rows(url, "tool_groups")
    assert_no_plaintext(rows, URL_PASSWORD, URL_KEY, "/mcp")
    groups = ToolGroupStore(engine, box)
    migrated = await groups.get("a", "alice")
    assert migrated is not None and migrated.endpoint is not None and migrated.unreadable is None
    assert migrated.endpoint.uri == URI and migrated.endpoint.transport == "sse"
    assert migrated.to_api()["mcp_endpoint"] == {"uri": REDACTED_URI, "transport": "sse"}
    without = await groups.get("b", "alice")
    assert without is not None and without.endpoint is None
    foreign = await groups.get("c", "alice")
    assert foreign is not None and foreign.unreadable is not None  # still needs its own key
    assert await ToolGroupStore(engine, box.with_previous([_raw(KEY_2)])).reseal() == 1
    assert (await groups.get("c", "alice")).endpoint.uri == URI  # type: ignore[union-attr]


# -- background responses ---------------------------------------------------------------------


async def test_a_background_request_is_encrypted_until_it_runs_and_needs_its_key(
    tmp_path: Path, serve_scripted, caplog: pytest.LogCaptureFixture
) -> None:
    from ogx.jobs import JobQueue
    from ogx.responses.resource import base_response
    from ogx.responses.schema import CreateResponseRequest
    from ogx.responses.service import BACKGROUND_JOB
    from ogx.responses.store import ResponseStore
    from ogx_api.testing.scripted import ScriptedBackend

    url = f"sqlite:///{tmp_path}/ogx.db"
    box = SecretBox(_raw(KEY_1))

    async def queue(response_id: str, request: dict[str, Any]) -> None:
        """A queued background response with its job, as `POST /v1/responses` leaves it."""
        engine = create_engine(resolve_storage_url(url, "test", {}))
        try:
            await migrate(engine, box=box)
            body = CreateResponseRequest.model_validate({"model": "scripted/scripted", "background": True})
            response = base_response(body, response_id, "queued")
            await ResponseStore(engine, box).insert(
                response, input_items=[], messages=[], owner=None, request=request
            )
            await JobQueue(engine).submit(BACKGROUND_JOB, {"response_id": response_id})
        finally:
            await engine.dispose()

    async def finished(http: httpx.AsyncClient, response_id: str) -> dict[str, Any]:
        for _ in range(400):
            body = (await http.get(f"/v1/responses/{response_id}")).json()
            if body["status"] not in ("queued", "in_progress"):
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"response {response_id} did not finish: {body}")

    def request(text: str, **extra: Any) -> dict[str, Any]:
        return {"model": "scripted/scripted", "input": text, "background": True, **extra}

    with ScriptedBackend([]) as backend:
        await queue("resp_1", request("the first question"))
        # A request a later version no longer accepts: its failure must not log the credentials.
        await queue("resp_bad", request("x", tools=[{"type": "no_such_tool", "authorization": TOKEN}]))
        assert_no_plaintext([str(await raw_request(url, "resp_1"))], "the first question")
        caplog.set_level(logging.INFO)
        async with serve_scripted(backend, server={"secret_key": KEY_1}) as (_, http, _):
            done = await finished(http, "resp_1")
            bad = await finished(http, "resp_bad")
        assert done["status"] == "completed", done
        assert done["output"][0]["content"][0]["text"] == "echo: the first question"
        assert await raw_request(url, "resp_1") in (None, "null")  # not kept once it ran
        assert bad["status"] == "failed" and bad["error"]["code"] == "invalid_stored_request"
        assert "tools[0]" in bad["error"]["message"]
        assert TOKEN not in caplog.text
        assert_no_plaintext(await raw_rows(url, "jobs"), TOKEN)

        await queue("resp_2", request("the second question"))
        async with serve_scripted(backend, server={"secret_key": KEY_2}) as (_, http, _):
            failed = await finished(http, "resp_2")
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "secret_unreadable"
        assert "cannot decrypt the request of response 'resp_2'" in failed["error"]["message"]
        assert len(backend.requests) == 1  # the second never reached the model


async def raw_request(url: str, response_id: str) -> Any:
    engine = create_engine(resolve_storage_url(url, "raw", {}))
    try:
        async with engine.connect() as conn:
            query = sa.text("SELECT request FROM responses WHERE id = :id")
            return (await conn.execute(query, {"id": response_id})).scalar()
    finally:
        await engine.dispose()


async def test_a_key_is_rotated_by_naming_the_old_one_as_previous(serve, tmp_path: Path) -> None:
    async with serve({"OGX_SECRET_KEY": KEY_1}) as client:
        assert (await client.post("/v1/toolgroups", json=GROUP)).status_code == 200
    rotating = {"OGX_SECRET_KEY": KEY_2, "OGX_PREVIOUS_SECRET_KEYS": KEY_1}
    async with serve(rotating) as client:
        during = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})
    [row] = await raw_rows(f"sqlite:///{tmp_path}/ogx.db", "tool_groups")
    # both sealed values (credentials and URI) re-sealed at start-up
    assert row.count(f"ogxenc1:{SecretBox(_raw(KEY_2)).key_id}:") == 2
    assert f"ogxenc1:{SecretBox(_raw(KEY_1)).key_id}:" not in row
    async with serve({"OGX_SECRET_KEY": KEY_2}) as client:  # the old key is not needed any more
        after = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "whoami"})
    for result in (during, after):
        assert result.json()["metadata"]["structured_content"]["authorization"] == f"Bearer {TOKEN}"
        assert result.json()["metadata"]["structured_content"]["uri"] == URI


# -- the key ----------------------------------------------------------------------------------


def test_previous_keys_come_from_the_run_config_then_the_environment() -> None:
    from pydantic import SecretStr

    from ogx.encryption import previous_keys

    both = {"OGX_PREVIOUS_SECRET_KEYS": f"{KEY_1}, {KEY_2}"}
    assert previous_keys([SecretStr(KEY_2)], both) == [_raw(KEY_2)]
    assert previous_keys([], both) == [_raw(KEY_1), _raw(KEY_2)]
    assert previous_keys([], {}) == []
    with pytest.raises(ConfigError, match=r"OGX_PREVIOUS_SECRET_KEYS\[1\]: not a secret key"):
        previous_keys([], {"OGX_PREVIOUS_SECRET_KEYS": f"{KEY_1},nope"})
    with pytest.raises(ConfigError, match=r"server.previous_secret_keys\[0\]: not a secret key"):
        previous_keys([SecretStr("nope")], {})


def test_the_key_comes_from_the_run_config_then_the_environment(tmp_path: Path) -> None:
    tree = {"version": 2, "server": {"secret_key": "${env.MY_KEY}"}}
    configured = parse_run_config(tree, environ={"MY_KEY": KEY_1}).server.secret_key
    from_config = configured_key(configured, {"OGX_SECRET_KEY": KEY_2})
    from_env = configured_key(None, {"OGX_SECRET_KEY": KEY_2})
    assert from_config is not None and from_env is not None
    assert from_config.key_id == SecretBox(_raw(KEY_1)).key_id and from_config.source == "server.secret_key"
    assert from_env.key_id == SecretBox(_raw(KEY_2)).key_id and from_env.source == "OGX_SECRET_KEY"
    assert configured_key(None, {"OGX_SECRET_KEY": ""}) is None
    standard = KEY_1.replace("-", "+").replace("_", "/")  # `openssl rand -base64 32` works too
    assert configured_key(None, {"OGX_SECRET_KEY": standard}).key_id == from_config.key_id  # type: ignore[union-attr]
    assert KEY_1 not in repr(from_config)


@pytest.mark.parametrize("bad", ["short", "x" * 44, KEY_1 + "AAAA"])
def test_a_malformed_key_fails_before_the_server_starts(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        create_app(
            parse_run_config({"version": 2}, environ={}),
            plugins=PluginManager(load_entry_points=False, environ={}),
            environ={"OGX_SECRET_KEY": bad},
        )
    assert "OGX_SECRET_KEY: not a secret key; expected 32 random bytes" in str(info.value)
    (tmp_path / KEY_FILE).write_text("not a key\n")
    with pytest.raises(ConfigError, match=r"the key file .* not a secret key"):
        key_file_box(tmp_path)


def test_config_check_reports_a_malformed_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ogx.cli.main import main

    config = tmp_path / "run.yaml"
    config.write_text("version: 2\nserver:\n  secret_key: ${env.MY_KEY}\n")
    monkeypatch.setenv("MY_KEY", "too-short")
    assert main(["config", "check", str(config)]) == 1
    assert "server.secret_key: not a secret key" in capsys.readouterr().err
    monkeypatch.setenv("MY_KEY", KEY_1)
    assert main(["config", "check", str(config)]) == 0


def test_the_key_file_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # a permissive umask must not leak into the file's mode
    try:
        first = key_file_box(tmp_path / "new" / "dir")
    finally:
        os.umask(old_umask)
    path = tmp_path / "new" / "dir" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.key_file == path and key_file_box(path.parent).key_id == first.key_id
    assert os.listdir(path.parent) == [KEY_FILE]  # no temporary file left behind


def test_a_key_file_others_can_read_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / KEY_FILE).write_text(KEY_1)
    (tmp_path / KEY_FILE).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="ogx.encryption"):
        key_file_box(tmp_path)
    assert "readable by others (mode 644): chmod 600 it" in caplog.text
    assert KEY_1 not in caplog.text


@pytest.mark.parametrize(("dialect", "warned"), [("sqlite", False), ("postgresql", True)])
def test_replicas_sharing_a_database_server_are_told_to_share_the_key(
    dialect: str, warned: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from ogx.encryption import log_secret_key

    box = key_file_box(tmp_path)
    with caplog.at_level(logging.INFO, logger="ogx.encryption"):
        log_secret_key(box, SimpleNamespace(dialect=SimpleNamespace(name=dialect)))  # type: ignore[arg-type]
    assert f"encrypted with secret key {box.key_id} from the key file {tmp_path / KEY_FILE}" in caplog.text
    assert ("need the same secret key: set OGX_SECRET_KEY" in caplog.text) is warned
    assert (tmp_path / KEY_FILE).read_text().strip() not in caplog.text


_KEY_MAKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ogx.encryption import key_file_box

    folder, ready, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    print(key_file_box(folder).key_id)
    """
)


async def test_workers_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    folder, go = tmp_path / "data", tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(4)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _KEY_MAKER, str(folder), str(flag), str(go), stdout=asyncio.subprocess.PIPE
        )
        for flag in ready
    ]
    try:
        async with asyncio.timeout(60):
            while not all(flag.exists() for flag in ready):
                assert all(w.returncode is None for w in workers), "a worker exited before the start"
                await asyncio.sleep(0.01)
            go.touch()  # all are waiting: release them together
            outputs = [(await worker.communicate())[0].decode().strip() for worker in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    assert all(worker.returncode == 0 for worker in workers)
    assert len(set(outputs)) == 1 and outputs[0] == key_file_box(folder).key_id
    assert os.listdir(folder) == [KEY_FILE]


# -- the box ----------------------------------------------------------------------------------


def test_sealed_values_open_only_with_their_key_in_their_place() -> None:
    box, other = SecretBox(_raw(KEY_1)), SecretBox(_raw(KEY_2))
    sealed = box.seal({"authorization": TOKEN}, "tool_groups.secrets:a")
    assert sealed.startswith(f"ogxenc1:{box.key_id}:") and TOKEN not in sealed
    assert box.open(sealed, "tool_groups.secrets:a", what="x") == {"authorization": TOKEN}
    assert box.seal("same", "p") != box.seal("same", "p")  # a fresh nonce each time
    with pytest.raises(
        SecretUnreadable, match=f"encrypted with secret key {box.key_id}, and this server's key is"
    ):
        other.open(sealed, "tool_groups.secrets:a", what="x")
    rotated = other.with_previous([_raw(KEY_1)])
    assert rotated.stale(sealed) and not box.stale(sealed) and not other.stale(sealed)
    assert rotated.open(sealed, "tool_groups.secrets:a", what="x") == {"authorization": TOKEN}
    with pytest.raises(SecretUnreadable, match=f"can open what keys {box.key_id} sealed"):
        SecretBox(_raw(generate_key()), previous=[_raw(KEY_1)]).open(
            sealed.replace(box.key_id, "0" * 8), "p", what="x"
        )
    with pytest.raises(SecretUnreadable, match="altered or belongs to another row"):
        box.open(sealed, "tool_groups.secrets:b", what="x")  # copied into another row
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SecretUnreadable, match="altered"):
        box.open(tampered, "tool_groups.secrets:a", what="x")
    with pytest.raises(
        SecretUnreadable, match="cannot decrypt the thing: it is not in OGX's encrypted format"
    ):
        box.open({"authorization": TOKEN}, "tool_groups.secrets:a", what="the thing")


def _raw(key: str) -> bytes:
    return base64.urlsafe_b64decode(key)
