"""The server under test: `ogx run CONFIG --port P` with a run config pointing at the mock."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import payloads
from mock_backend import MockBackend
from procs import HOST, Owned, cpu_seconds, memory_mib
from rawhttp import Connection

REPO = Path(__file__).resolve().parent.parent
PYCACHE = REPO / "bench" / "results" / "pycache"

_CONFIG = """\
version: 2
providers:
  inference:
    - provider_id: mock
      provider_type: remote::vllm
      config:
        base_url: {base_url}
    - provider_id: mockstream
      provider_type: remote::vllm
      config:
        base_url: {stream_base_url}
registered_resources:
  models:
    - model_id: {model}
      provider_id: mock
      provider_model_id: {model}
    - model_id: {stream_model}
      provider_id: mockstream
      provider_model_id: {model}
server:
  host: {host}
  port: {port}
"""


def ogx_binary(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    venv = REPO / ".venv" / "bin" / "ogx"
    if venv.exists():
        return str(venv)
    return shutil.which("ogx")


def write_config(workdir: Path, mock: MockBackend, port: int) -> Path:
    path = workdir / "run.yaml"
    path.write_text(
        _CONFIG.format(
            base_url=mock.base_url,
            stream_base_url=mock.stream_base_url,
            model=payloads.MODEL,
            stream_model=payloads.STREAM_MODEL,
            host=HOST,
            port=port,
        )
    )
    return path


class OGXServer:
    def __init__(self, binary: str, workdir: Path, mock: MockBackend, port: int, workers: int | None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.config = write_config(workdir, mock, port)
        self.workers = workers
        self.proc: Owned | None = None

    def argv(self) -> list[str]:
        argv = [self.binary, "run", str(self.config), "--port", str(self.port), "--host", HOST]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        return argv

    def env(self) -> dict[str, str]:
        """The caller's environment, plus a data dir and a bytecode cache of the bench's own.

        Python must be allowed to cache bytecode (deployments have .pyc files), and the cache goes
        under bench/results/ so the benchmark writes nothing next to anyone's sources.
        """
        env = dict(os.environ, OGX_DATA_DIR=str(self.workdir / "data"), PYTHONPYCACHEPREFIX=str(PYCACHE))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def start(self, timeout: float = 60.0) -> dict:
        """Start it and poll until it answers; returns the ready times in seconds since spawn."""
        (self.workdir / "data").mkdir(exist_ok=True)
        env = self.env()
        self.proc = Owned("ogx", self.argv(), self.workdir / "ogx.log", env=env)
        t0 = self.proc.started
        health_s = self._poll(payloads.http_get("/v1/health", f"{HOST}:{self.port}"), t0, timeout)
        chat = payloads.http_post(
            "/v1/chat/completions", payloads.chat_request(payloads.MODEL, stream=False), f"{HOST}:{self.port}"
        )
        ready_s = self._poll(chat, t0, timeout)
        return {"health_s": health_s, "ready_s": ready_s, **self.memory()}

    def _poll(self, raw: bytes, t0: float, timeout: float) -> float:
        assert self.proc is not None
        last = "no answer"
        while True:
            if not self.proc.alive():
                raise RuntimeError(f"ogx exited with {self.proc.proc.returncode}:\n{self.proc.log_tail()}")
            elapsed = time.perf_counter() - t0
            if elapsed > timeout:
                raise RuntimeError(f"ogx not ready after {timeout} s ({last}):\n{self.proc.log_tail()}")
            conn = Connection(self.port, timeout=5.0)
            try:
                answer = conn.request(raw)
                if answer.status == 200:
                    return time.perf_counter() - t0
                last = f"HTTP {answer.status}: {answer.body[:200]!r}"
            except OSError as exc:
                last = repr(exc)
            finally:
                conn.close()
            time.sleep(0.005)

    def memory(self) -> dict:
        return memory_mib(self.proc.pid) if self.proc and self.proc.alive() else {}

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc else 0.0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
