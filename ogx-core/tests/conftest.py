"""Shared fixtures for the core's tests: an app built from a run config with the fake inference
provider, driven in-process through its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ogx.config import parse_run_config
from ogx.plugins import PluginInfo, PluginManager
from ogx.server.app import create_app
from ogx_api import ProviderSpec, hookimpl
from ogx_api.testing.fakes import fake_provider_spec, fake_vector_io_spec
from ogx_api.testing.scripted import scripted_provider_spec

FAKE_PLUGIN = PluginInfo(name="fake", distribution="ogx-api", version="test")


class FakePlugin:
    @hookimpl
    def ogx_provider_specs(self) -> list[ProviderSpec]:
        return [fake_provider_spec(), fake_vector_io_spec(), scripted_provider_spec()]


def fake_plugins(*extra: tuple[PluginInfo, Any]) -> PluginManager:
    return PluginManager(load_entry_points=False, plugins=[(FAKE_PLUGIN, FakePlugin()), *extra], environ={})


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, FastAPI]]]


@pytest.fixture
def serve(tmp_path: Path) -> AppFactory:
    """`async with serve(run_config_dict) as (client, app)`: the app started, an httpx client on it.
    Storage defaults to an SQLite file in the test's tmp dir (shared by successive serves).
    Further `(PluginInfo, plugin)` pairs add real plugins (e.g. `ogx_faiss.plugin`)."""

    @asynccontextmanager
    async def start(
        tree: dict[str, Any], *plugins: tuple[PluginInfo, Any]
    ) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
        tree = {"version": 2, "name": "test", "storage": {"url": f"sqlite:///{tmp_path}/ogx.db"}, **tree}
        app = create_app(parse_run_config(tree, environ={}), plugins=fake_plugins(*plugins))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ogx.test") as client:
                yield client, app

    return start


def _fake_inference(**config: Any) -> dict[str, Any]:
    return {
        "providers": {
            "inference": [{"provider_id": "fake", "provider_type": "inline::fake", "config": config}]
        }
    }


@pytest.fixture
def fake_inference() -> Callable[..., dict[str, Any]]:
    """`fake_inference(**provider_config)`: a run-config tree with the fake provider as `fake`."""
    return _fake_inference


@pytest.fixture
def serve_scripted(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """`async with serve_scripted(backend, **run_config) as (sdk, http, app)`: the app in front of a
    `ScriptedBackend` (model `scripted/scripted`), with an `openai` client and an httpx client on it."""
    from openai import AsyncOpenAI

    @asynccontextmanager
    async def start(backend: Any, **extra: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient, FastAPI]]:
        provider = {
            "provider_id": "scripted",
            "provider_type": "remote::scripted",
            "config": {"base_url": backend.base_url},
        }
        providers = {"inference": [provider], **extra.pop("providers", {})}
        tree = {
            "version": 2,
            "name": "test",
            "storage": {"url": f"sqlite:///{tmp_path}/ogx.db"},
            "providers": providers,
            **extra,
        }
        app = create_app(parse_run_config(tree, environ={}), plugins=fake_plugins())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ogx.test") as http:
                sdk = AsyncOpenAI(
                    api_key="none", base_url="http://ogx.test/v1", http_client=http, max_retries=0
                )
                yield sdk, http, app

    return start


@pytest.fixture(scope="session")
def open_responses() -> Callable[[str, Any], None]:
    """`open_responses(schema_name, instance)`: validate against the Open Responses spec."""
    import json

    import jsonschema

    spec_path = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "openresponses-spec.json"
    if not spec_path.exists():
        pytest.skip(f"the Open Responses spec is not at {spec_path}")
    components = json.loads(spec_path.read_text())["components"]

    events = {  # streaming event type -> its schema
        schema["properties"]["type"]["enum"][0]: name
        for name, schema in components["schemas"].items()
        if name.endswith("StreamingEvent") and schema.get("properties", {}).get("type", {}).get("enum")
    }

    def validate(name: str, instance: Any) -> None:
        """`name` is a schema, or "event": the schema the spec defines for the event's type."""
        if name == "event":
            assert instance["type"] in events, f"{instance['type']!r} is not an Open Responses event"
            name = events[instance["type"]]
        jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", "components": components})

    return validate


class PrincipalFromHeader:
    """Test-only stand-in for authentication: `x-test-principal` becomes the request's owner."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            principal = dict(scope["headers"]).get(b"x-test-principal")
            if principal:
                scope.setdefault("state", {})["principal"] = principal.decode()
        await self.app(scope, receive, send)


@pytest.fixture
def principal_from_header() -> type[PrincipalFromHeader]:
    """Middleware to add to an app under test: `x-test-principal` becomes the request's owner."""
    return PrincipalFromHeader
