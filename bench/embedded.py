"""The embedded models through `ogx run starter` versus the same libraries called directly, in one
interleaved run: tokens/s of the in-process chat model (llama-cpp-python, Gemma 3 270M) and
sentences/s of the in-process embeddings (all-MiniLM-L6-v2 on ONNX Runtime).

    uv run python bench/embedded.py [--rounds 5] [--max-tokens 64]

A benchmark, not a test: it prints a table and writes bench/results/embedded.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SENTENCES = [
    f"Sentence number {i} talks about {topic}."
    for i, topic in enumerate(["rivers", "bread", "orbits", "jazz"] * 16)
]
MESSAGES = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]


def settle() -> None:
    """Let the last phase's worker threads go idle: llama.cpp's and ONNX Runtime's thread pools
    spin for a while after each call, and on 2 cores that spinning would be charged to the
    next phase (the other process)."""
    time.sleep(0.5)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds the process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "OGX_DATA_DIR": str(workdir / "data"), "OGX_LOG_LEVEL": "warning"}
    for variable in ("VLLM_URL", "OLLAMA_URL", "AWS_REGION"):
        env.pop(variable, None)
    ogx = Path(sys.executable).parent / "ogx"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [str(ogx), "run", "starter", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=log,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"ogx did not start: {(workdir / 'server.log').read_text()[-2000:]}")


def models(base: str) -> tuple[str, str]:
    listed = httpx.get(f"{base}/v1/models", timeout=30).json()["data"]
    chat = next(
        m["id"] for m in listed if m["ogx"]["model_type"] == "llm" and m["ogx"]["provider_id"] == "llama-cpp"
    )
    embed = next(
        m["id"]
        for m in listed
        if m["ogx"]["model_type"] == "embedding" and m["ogx"]["provider_id"] == "minilm"
    )
    return chat, embed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    from llama_cpp import Llama

    from ogx_llama_cpp.model_file import ensure_packaged_model
    from ogx_minilm.encoder import MiniLMEncoder, packaged_model_path, packaged_tokenizer_path

    llama = Llama(
        model_path=str(ensure_packaged_model()),
        n_ctx=4096,
        n_threads=os.cpu_count(),
        chat_format="gemma",
        verbose=False,
    )
    encoder = MiniLMEncoder(packaged_model_path(), packaged_tokenizer_path(), max_tokens=256)
    with tempfile.TemporaryDirectory(prefix="ogx-bench-embedded-") as tmp:
        server, base = start_server(Path(tmp))
        try:
            chat_model, embed_model = models(base)
            client = httpx.Client(base_url=base, timeout=300)
            results: dict[str, list[float]] = {
                "llm_direct": [],
                "llm_server": [],
                "embed_direct": [],
                "embed_server": [],
                "embed_direct_cpu_ms": [],
                "embed_server_cpu_ms": [],
            }
            for _ in range(args.rounds):
                settle()
                started = time.perf_counter()
                out = llama.create_chat_completion(MESSAGES, max_tokens=args.max_tokens, temperature=0)
                results["llm_direct"].append(
                    out["usage"]["completion_tokens"] / (time.perf_counter() - started)
                )
                settle()
                started = time.perf_counter()
                body = client.post(
                    "/v1/chat/completions",
                    json={
                        "model": chat_model,
                        "messages": MESSAGES,
                        "max_tokens": args.max_tokens,
                        "temperature": 0,
                    },
                ).json()
                results["llm_server"].append(
                    body["usage"]["completion_tokens"] / (time.perf_counter() - started)
                )
                settle()
                cpu, started = own_cpu(), time.perf_counter()
                encoder.encode(SENTENCES)
                results["embed_direct"].append(len(SENTENCES) / (time.perf_counter() - started))
                results["embed_direct_cpu_ms"].append((own_cpu() - cpu) * 1000)
                settle()
                cpu, started = process_cpu(server.pid), time.perf_counter()
                client.post(
                    "/v1/embeddings", json={"model": embed_model, "input": SENTENCES}
                ).raise_for_status()
                results["embed_server"].append(len(SENTENCES) / (time.perf_counter() - started))
                results["embed_server_cpu_ms"].append((process_cpu(server.pid) - cpu) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=20)
    medians = {key: statistics.median(values) for key, values in results.items()}
    rows = [
        ("chat tokens/s (64-token answers)", medians["llm_direct"], medians["llm_server"]),
        (
            f"embeddings sentences/s (batch {len(SENTENCES)})",
            medians["embed_direct"],
            medians["embed_server"],
        ),
    ]
    print(f"{'metric':45} {'direct':>10} {'server':>10} {'server/direct':>14}")
    rows.append(
        ("embeddings CPU ms per batch", medians["embed_direct_cpu_ms"], medians["embed_server_cpu_ms"])
    )
    for name, direct, served in rows:
        print(f"{name:45} {direct:10.1f} {served:10.1f} {served / direct:13.1%}")
    ratios = [s / d for s, d in zip(results["embed_server"], results["embed_direct"], strict=True)]
    print("embeddings server/direct per round:", " ".join(f"{r:.0%}" for r in ratios))
    load = os.getloadavg()[0]
    print(
        f"\n{args.rounds} interleaved rounds, medians; load average (1 min) {load:.2f} on {os.cpu_count()} CPUs"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "embedded.json").write_text(
        json.dumps({"medians": medians, "rounds": results, "load": load}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
