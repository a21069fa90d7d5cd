"""The installed `ogx-vllm` distribution is discoverable through its entry point."""

import importlib
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points

import pluggy

from ogx_api import PROJECT_NAME, Api, ProviderSpec, hookspecs
from ogx_api.openai_compat import OpenAICompatConfig


def _resolve(dotted: str) -> object:
    module, _, attr = dotted.replace(":", ".").rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _vllm_entry_point() -> EntryPoint:
    matches = [ep for ep in entry_points(group="ogx") if ep.name == "vllm"]
    assert len(matches) == 1, f"expected one `vllm` entry point in group `ogx`, found {matches}"
    return matches[0]


def test_entry_point_is_installed_by_ogx_vllm() -> None:
    entry_point = _vllm_entry_point()
    assert entry_point.value == "ogx_vllm.plugin"
    assert entry_point.dist is not None and entry_point.dist.name == "ogx-vllm"


def test_hook_declares_remote_vllm_with_importable_paths() -> None:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(_vllm_entry_point().load(), name="vllm")
    manager.check_pending()

    specs = [spec for specs in manager.hook.ogx_provider_specs() for spec in specs]

    assert len(specs) == 1
    spec = specs[0]
    assert isinstance(spec, ProviderSpec)
    assert spec.api is Api.inference
    assert spec.provider_type == "remote::vllm"
    assert spec.description
    config_class = _resolve(spec.config_class)
    assert isinstance(config_class, type) and issubclass(config_class, OpenAICompatConfig)
    assert callable(_resolve(spec.factory))


def test_loading_the_entry_point_does_not_import_the_adapter() -> None:
    code = (
        "import sys; from importlib.metadata import entry_points; "
        "[ep.load() for ep in entry_points(group='ogx') if ep.name == 'vllm']; "
        "print(sorted(m for m in ('ogx_vllm.adapter', 'ogx_vllm.config', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
