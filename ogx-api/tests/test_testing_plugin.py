"""The `ogx` pytest plugin stays cheap to load, and the model server's config is one that
llama_cpp.server accepts."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ogx_api.testing.model_server import CHAT_MODEL, EMBEDDING_MODEL, server_config


def test_plugin_is_registered_with_pytest() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "ogx"]
    assert plugin.value == "ogx_api.testing.plugin"


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, ogx_api.testing.plugin; "
        "print(sorted(m for m in ('llama_cpp', 'ogx_api.testing.model_server', 'ogx_api.testing.inference', "
        "'pytest_asyncio') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_integration_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("integration:") for line in pytestconfig.getini("markers"))


def test_server_config_is_valid_for_llama_cpp_server() -> None:
    settings = pytest.importorskip("llama_cpp.server.settings")
    config = settings.ConfigFileSettings.model_validate(server_config(Path("/models/m.gguf"), 12345))
    chat, embed = config.models
    assert (config.host, config.port) == ("127.0.0.1", 12345)
    assert (chat.model_alias, chat.chat_format, chat.embedding) == (CHAT_MODEL, "gemma", False)
    assert (embed.model_alias, embed.embedding) == (EMBEDDING_MODEL, True)
    assert embed.kv_overrides == ["gemma3.pooling_type=int:1"]
