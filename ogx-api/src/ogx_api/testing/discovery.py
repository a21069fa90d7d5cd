"""The discovery suite: a plugin is found through its installed entry point, declares the
providers it says it does with dotted paths that import, and loading it stays featherweight.

    class TestDiscovery(PluginDiscoverySuite):
        entry_point = "vllm"
        distribution = "ogx-vllm"
        provider_types = {"remote::vllm": Api.inference}
        heavy_modules = ("ogx_vllm.adapter", "httpx")
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar

import pluggy

from ogx_api import PROJECT_NAME, Api, ProviderSpec, hookspecs


def resolve(dotted: str) -> Any:
    if ":" in dotted:
        module, attr = dotted.split(":", 1)
    else:
        module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class PluginDiscoverySuite:
    entry_point: ClassVar[str]
    distribution: ClassVar[str]
    provider_types: ClassVar[dict[str, Api]]
    heavy_modules: ClassVar[tuple[str, ...]] = ()

    def _entry_point(self) -> EntryPoint:
        matches = [ep for ep in entry_points(group=PROJECT_NAME) if ep.name == self.entry_point]
        assert len(matches) == 1, (
            f"expected one {self.entry_point!r} entry point in group 'ogx', found {matches}"
        )
        return matches[0]

    def test_entry_point_is_installed_by_the_distribution(self) -> None:
        """If this fails: check `[project.entry-points.ogx]` in the plugin's pyproject.toml and
        that the distribution is installed (`uv sync`)."""
        entry_point = self._entry_point()
        assert entry_point.dist is not None and entry_point.dist.name == self.distribution

    def test_hook_declares_the_providers_with_importable_paths(self) -> None:
        """If this fails: the `ogx_provider_specs` hook must return a list of `ProviderSpec`s whose
        `config_class` is a pydantic model and whose `factory` is callable."""
        manager = pluggy.PluginManager(PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        manager.register(self._entry_point().load(), name=self.entry_point)
        manager.check_pending()
        specs = [spec for specs in manager.hook.ogx_provider_specs() for spec in specs]
        assert all(isinstance(spec, ProviderSpec) for spec in specs)
        assert {spec.provider_type: spec.api for spec in specs} == self.provider_types
        for spec in specs:
            assert spec.description, f"{spec.provider_type} needs a description"
            assert hasattr(resolve(spec.config_class), "model_validate")
            assert callable(resolve(spec.factory))
            if spec.provider_data_validator:
                assert hasattr(resolve(spec.provider_data_validator), "model_validate")

    def test_loading_the_entry_point_imports_nothing_heavy(self) -> None:
        """If this fails: the entry-point module must import only `ogx_api` and the standard
        library; reach adapters and SDKs through the spec's dotted paths."""
        code = (
            "import sys; from importlib.metadata import entry_points; "
            f"[ep.load() for ep in entry_points(group='ogx') if ep.name == {self.entry_point!r}]; "
            f"print(sorted(m for m in {self.heavy_modules!r} if m in sys.modules))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "[]", f"loading the plugin imported {result.stdout.strip()}"
