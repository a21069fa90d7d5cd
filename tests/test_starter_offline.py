"""The README's first command — `./scripts/serve`, the starter distribution — serves a real model
and real embeddings with no network at all: the server and its client run in a fresh network
namespace whose only interface is loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

HERE = Path(__file__).parent


def _can_unshare_network() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_starter_serves_chat_and_embeddings_offline(tmp_path: Path) -> None:
    assert _can_unshare_network(), "this test needs root and unshare(1) to cut the network (CI has both)"
    log = tmp_path / "server.log"
    env = {**os.environ, "OGX_DATA_DIR": str(tmp_path / "data"), "OGX_OFFLINE_LOG": str(log)}
    for variable in (
        "VLLM_URL",
        "OLLAMA_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_BEARER_TOKEN_BEDROCK",
    ):
        env.pop(variable, None)
    command = [
        "unshare",
        "-n",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" "$@"',
        sys.executable,
        str(HERE / "offline_client.py"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=360)
    server_log = log.read_text(errors="replace") if log.exists() else ""
    assert run.returncode == 0, f"{run.stderr[-3000:]}\n--- server log ---\n{server_log[-3000:]}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["chat_tokens"] > 0 and result["finish_reason"] in ("stop", "length")
    assert result["embedding_dims"] == [384, 384]
    assert "Traceback" not in server_log
