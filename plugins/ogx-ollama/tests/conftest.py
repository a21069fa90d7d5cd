"""Fixtures of the ogx-ollama tests: the Ollama stand-in (`ollama_stub.py`) in front of the real
model server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ogx_api.testing.model_server import ModelServer


def _load_stub_module():  # type: ignore[no-untyped-def]
    # The tests run with --import-mode=importlib, where a test directory is not importable:
    # load the stub module from its file, once, under a name of its own.
    name = "ogx_ollama_tests_stub"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("ollama_stub.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


stub_module = _load_stub_module()
OllamaStub = stub_module.OllamaStub


@pytest.fixture(scope="session")
def ollama_stub(ogx_model_server: ModelServer) -> Iterator[OllamaStub]:
    """The Ollama stand-in for the session, proxying /v1 to the real model server. Ollama has
    the chat model; the embedding model is in its library, to be pulled."""
    catalog = stub_module.gemma_catalog(ogx_model_server.chat_model, ogx_model_server.embedding_model)
    with OllamaStub(ogx_model_server.base_url, catalog, present={catalog[0].name}) as stub:
        yield stub


@pytest.fixture
def fresh_ollama_stub(ogx_model_server: ModelServer) -> Iterator[OllamaStub]:
    """An Ollama stand-in of its own for one test, with no model pulled yet and a library of
    the two Gemma models plus `broken:1b`, whose pull fails half-way."""
    catalog = [
        *stub_module.gemma_catalog(ogx_model_server.chat_model, ogx_model_server.embedding_model),
        stub_module.StubModel(name="broken:1b", upstream=ogx_model_server.chat_model, embedding=False),
    ]
    failing = {"broken:1b": "max retries exceeded: unexpected EOF"}
    with OllamaStub(ogx_model_server.base_url, catalog, failing_pulls=failing) as stub:
        yield stub
