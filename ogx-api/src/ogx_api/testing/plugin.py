"""The `ogx` pytest plugin: the `integration` marker and the shared model-server fixture.

Loaded in every pytest session where ogx-api is installed, so it imports nothing heavy: the
model server module is imported only when a test asks for `ogx_model_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ogx_api.testing.model_server import ModelServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs real components started by the tests (a model server, PostgreSQL, MCP servers)",
    )


@pytest.fixture(scope="session")
def ogx_model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """A llama_cpp.server serving Gemma 3 270M, started once per session on a free port.

    Yields a `ModelServer` (`base_url` with `/v1`, `chat_model`, `embedding_model`). The server's
    log is in the session's temporary directory; a failed start raises with its tail.
    """
    from ogx_api.testing.model_server import run_model_server

    with run_model_server(log_dir=tmp_path_factory.mktemp("model-server")) as server:
        yield server
