"""Run inside a network namespace with only loopback (see test_starter_offline.py): starts the
README's serve command, then asks it for a chat completion and an embedding with the `openai`
SDK, and prints what it got as JSON. Not a test module itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    port = free_port()
    log = open(os.environ["OGX_OFFLINE_LOG"], "wb")  # noqa: SIM115 - closed at exit
    server = subprocess.Popen(
        [str(ROOT / "scripts" / "serve"), "starter", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    result: dict[str, object] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"server exited with {server.returncode}")
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("server never became ready")
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="none", max_retries=0, timeout=120)
        models = client.models.list().data
        kinds = {m.id: (m.model_extra or {}).get("ogx", {}).get("model_type") for m in models}
        llm = next(m for m, kind in kinds.items() if kind == "llm")
        embedder = next(m for m, kind in kinds.items() if kind == "embedding")
        chat = client.chat.completions.create(
            model=llm, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0
        )
        vectors = client.embeddings.create(model=embedder, input=["offline", "still works"])
        result = {
            "models": kinds,
            "chat_model": chat.model,
            "chat_tokens": chat.usage.completion_tokens,
            "finish_reason": chat.choices[0].finish_reason,
            "embedding_dims": [len(d.embedding) for d in vectors.data],
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
