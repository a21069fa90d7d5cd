"""Meta-tests that keep the contract honest: what `ogx_api` exports is pinned (a change here is
a change for every provider author), and every hook is documented and used by the core."""

from __future__ import annotations

import inspect
from pathlib import Path

import ogx_api
from ogx_api import hookspecs

PINNED_EXPORTS = {
    "PROJECT_NAME",
    "Api",
    "BaseProvider",
    "Conflict",
    "Distribution",
    "Forbidden",
    "HealthState",
    "HealthStatus",
    "InvalidRequest",
    "NotFound",
    "NotImplementedByProvider",
    "OGXError",
    "PayloadTooLarge",
    "Provider",
    "ProviderError",
    "ProviderSpec",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "Unauthorized",
    "hookimpl",
    "hookspec",
}

HOOKS = [
    name for name, value in vars(hookspecs).items() if name.startswith("ogx_") and inspect.isfunction(value)
]


def test_exports_are_pinned():
    assert set(ogx_api.__all__) == PINNED_EXPORTS
    assert all(hasattr(ogx_api, name) for name in ogx_api.__all__)


def test_every_hook_is_prefixed_documented_with_an_example_and_returns_a_list():
    assert HOOKS, "no hook specifications found"
    for name in HOOKS:
        function = getattr(hookspecs, name)
        doc = inspect.getdoc(function) or ""
        assert "Example::" in doc and "@hookimpl" in doc, f"{name} needs a docstring with an example"
        assert "Called" in doc, f"{name}'s docstring must say when it is called"
        assert str(inspect.signature(function).return_annotation).startswith("list["), name


def test_every_hook_is_called_by_the_core():
    core = Path(__file__).parents[2] / "ogx-core" / "src" / "ogx" / "plugins" / "manager.py"
    source = core.read_text()
    for name in HOOKS:
        assert f'"{name}"' in source, f"the core's plugin manager never calls {name}"


def test_installing_an_http_provider_brings_the_fast_backend_client() -> None:
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    extra = [Requirement(r) for r in requires("ogx-api") or () if "extra == " in r]
    assert any(r.name == "aiohttp" and r.marker and r.marker.evaluate({"extra": "aiohttp"}) for r in extra)
    for plugin in ("ogx-vllm", "ogx-ollama"):
        needs = [Requirement(r) for r in requires(plugin) or ()]
        assert any(r.name == "ogx-api" and "aiohttp" in r.extras for r in needs), plugin
