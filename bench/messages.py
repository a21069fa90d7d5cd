#!/usr/bin/env python3
"""Added latency of Anthropic's `/v1/messages` through OGX, next to OGX's own `/v1/chat/completions`,
both over the same mock backend (nginx, see run.py) and against the mock called directly.

    python3 bench/messages.py            # about 1 minute on 2 cores
    python3 bench/messages.py --quick    # a smoke run

The same request (one user turn, `max_tokens` 50) is sent three ways, interleaved in rounds: a
chat completion straight to the mock ("direct"), a chat completion through OGX ("chat"), and a
Messages request through OGX ("messages"), which OGX translates to the same chat call and back.
c=1: one keep-alive connection per side (measure.sequential); c=32: wrk (measure.throughput).
What matters is messages - chat: the cost of the translation. Results: bench/results/messages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import payloads
from mock_backend import MockBackend
from procs import free_port, pin, split_cpus
from rawhttp import fetch
from run import git_state, log
from sut import REPO, OGXServer, ogx_binary


def messages_body(model: str, stream: bool) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": payloads.PROMPT}],
    }
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def sides(mock_port: int, ogx_port: int, cpu) -> list[measure.Side]:
    chat = measure.proxied_side(ogx_port, cpu)
    chat.name = "chat"
    messages = measure.Side(
        "messages",
        ogx_port,
        "/v1/messages",
        "/v1/messages",
        messages_body(payloads.MODEL, stream=False),
        messages_body(payloads.STREAM_MODEL, stream=True),
        cpu,
    )
    return [measure.direct_side(mock_port), chat, messages]


def check_messages(side: measure.Side) -> None:
    answer = fetch(side.port, side.chat_request())
    if answer.status != 200:
        raise RuntimeError(f"messages: HTTP {answer.status}: {answer.body[:300]!r}")
    message = json.loads(answer.body)
    if message["content"][0]["text"] != payloads.ANSWER:
        raise RuntimeError(f"messages: unexpected content {message['content']!r}")
    stream = fetch(side.port, side.stream_request())
    if b"event: message_stop" not in stream.body:
        raise RuntimeError(f"messages stream: no message_stop in {stream.body[-300:]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the server share CPUs with wrk and the mock"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "messages.json")
    args = parser.parse_args(argv)
    rounds, per_round, budget = (4, 100, 6.0) if args.quick else (20, 250, 40.0)
    wrk_rounds, seconds = (2, 2.0) if args.quick else (8, 3.0)
    results: dict = {"git": git_state()}
    with tempfile.TemporaryDirectory(prefix="ogx-bench-messages-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx workers run as `nobody` when we are root
        mock = MockBackend(workdir / "mock", free_port())
        (workdir / "ogx").mkdir()
        binary = ogx_binary()
        if binary is None:
            sys.exit("no ogx executable (.venv/bin/ogx or PATH)")
        server = OGXServer(binary, workdir / "ogx", mock, free_port(), None)
        try:
            split = None if args.no_pin else split_cpus()
            if split is not None:  # before the mock starts: nginx, wrk and this client inherit it
                os.sched_setaffinity(0, split[1])
            mock.start()
            server.start(60.0)
            if split is not None:
                pin(server.proc.pid, split[0])
            results["cpus"] = {"server": sorted(split[0]), "others": sorted(split[1])} if split else "shared"
            all_sides = sides(mock.port, server.port, server.cpu)
            measure.check(all_sides[0])
            measure.check(all_sides[1])
            check_messages(all_sides[2])
            for stream in (False, True):
                what = "first byte" if stream else "latency"
                log(f"c=1 {what}: {rounds} rounds x {per_round} requests per side")
                results[f"c1_{'ttfb' if stream else 'latency'}"] = measure.sequential(
                    all_sides, stream=stream, rounds=rounds, per_round=per_round, warmup=200, budget_s=budget
                )
            log(f"c=32 wrk: {wrk_rounds} rounds x {seconds:g} s per side")
            results["c32"] = measure.throughput(
                all_sides, workdir, stream=False, rounds=wrk_rounds, seconds=seconds, warmup_s=1.0,
                connections=32, threads=2,
            )  # fmt: skip
        finally:
            server.stop()
            mock.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(results: dict) -> str:
    """The figures; for c=1 the difference is also given as the median over rounds of the
    per-round p50 differences, which drift and neighbours on a shared machine disturb least."""
    rows = [
        "| metric | direct | chat | messages | messages - chat | same, median of rounds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("c1_latency", "c=1 p50 latency (ms)"),
        ("c1_ttfb", "c=1 p50 first streamed byte (ms)"),
    ):
        r = results[key]
        d, c, m = (r[n]["p50_ms"] for n in ("direct", "chat", "messages"))
        rounds = statistics.median(
            b - a for a, b in zip(r["chat"]["round_p50_ms"], r["messages"]["round_p50_ms"], strict=True)
        )
        rows.append(f"| {label} | {d:.3f} | {c:.3f} | {m:.3f} | {m - c:+.3f} ms | {rounds:+.3f} ms |")
    r = results["c32"]
    d, c, m = (r[n]["p50_ms"] for n in ("direct", "chat", "messages"))
    rounds = statistics.median(
        (b - a) / 1e3 for a, b in zip(r["chat"]["round_p50_us"], r["messages"]["round_p50_us"], strict=True)
    )
    rows.append(
        f"| c=32 p50 latency (ms, wrk) | {d:.3f} | {c:.3f} | {m:.3f} | {m - c:+.3f} ms | {rounds:+.3f} ms |"
    )
    d, c, m = (r[n]["rps"] for n in ("direct", "chat", "messages"))
    ratio = statistics.median(
        b / a for a, b in zip(r["chat"]["round_rps"], r["messages"]["round_rps"], strict=True)
    )
    rows.append(f"| c=32 req/s | {d:,.0f} | {c:,.0f} | {m:,.0f} | x{m / c:.3f} | x{ratio:.3f} |")
    cpu_c, cpu_m = (r[n].get("server_cpu_us_per_request", 0) for n in ("chat", "messages"))
    rows.append(
        f"| c=32 server CPU/request (µs) | - | {cpu_c:,.0f} | {cpu_m:,.0f} | {cpu_m - cpu_c:+,.0f} µs | - |"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
