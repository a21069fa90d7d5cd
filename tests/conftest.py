"""End-to-end fixtures: `ogx run` started as a subprocess on a free port, with its log kept for
the failure message, and the real model server from `ogx_api.testing` behind it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OGXServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_no_server_errors(self) -> None:
        """No request answered 5xx (uvicorn's access log) and nothing raised unhandled."""
        bad = [line for line in self.log().splitlines() if '" 50' in line or "Traceback" in line]
        assert not bad, "server errors in the log:\n" + "\n".join(bad[:20])


@pytest.fixture(scope="session")
def ogx_runner():
    """`with ogx_runner(config_or_distribution, workdir, env=...) as server:` — see `run_ogx`."""
    return run_ogx


@contextmanager
def run_ogx(
    config: dict[str, Any] | str, workdir: Path, *, env: dict[str, str] | None = None
) -> Iterator[OGXServer]:
    """Start `ogx run` with a run-config mapping (or a distribution name), wait until
    `/v1/health` answers, and stop it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(config, dict):
        target = workdir / "run.yaml"
        target.write_text(yaml.safe_dump(config))
    else:
        target = config
    port = free_port()
    log_path = workdir / "ogx.log"
    environment = {**os.environ, "OGX_DATA_DIR": str(workdir / "data"), **(env or {})}
    command = [
        sys.executable,
        "-m",
        "ogx",
        "run",
        str(target),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--access-log",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = OGXServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_ready(server: OGXServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"ogx exited with {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            if httpx.get(f"{server.base_url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"ogx did not answer within {READY_TIMEOUT:g}s:\n{server.log()[-4000:]}")


@pytest.fixture(scope="session")
def vllm_ogx(ogx_model_server, tmp_path_factory) -> Iterator[OGXServer]:
    """OGX serving the real local model through ogx-vllm (llama_cpp.server speaks the OpenAI API)."""
    config = {
        "version": 2,
        "name": "e2e-vllm",
        "providers": {
            "inference": [
                {
                    "provider_id": "vllm",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": ogx_model_server.base_url},
                }
            ]
        },
        "registered_resources": {
            "models": [
                {
                    "model_id": "gemma",
                    "provider_id": "vllm",
                    "provider_model_id": ogx_model_server.chat_model,
                },
                {
                    "model_id": "gemma-embed",
                    "provider_id": "vllm",
                    "provider_model_id": ogx_model_server.embedding_model,
                    "model_type": "embedding",
                    "metadata": {"embedding_dimension": 640},
                },
            ]
        },
    }
    with run_ogx(config, tmp_path_factory.mktemp("ogx-vllm")) as server:
        yield server
