#!/usr/bin/env python3
"""Start-up of `ogx run`: ready time and memory over several starts, and what the first request
of each API costs next to its later ones.

    python3 bench/startup.py                # 7 measured starts after a priming one, ~40 s
    python3 bench/startup.py --starts 3     # fewer

The server is run.py's: the same run config over the nginx mock, the same bytecode cache under
bench/results/pycache, and one data dir, both filled by a discarded priming start, so the
measured starts are restarts. For each start: the time from spawn to the first 200 on
`GET /v1/health` and on `POST /v1/chat/completions` (run.py's ready time), the server's CPU time
(user + system) and RSS right after; then one request of each API below, timed, repeated 5
times, and the RSS and peak RSS after all of them. A first request that costs much more than
the later ones pays for work deferred from start-up (a schema built on first use). The console
gets medians over the measured starts; every figure goes to bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import payloads
from mock_backend import MockBackend
from procs import HOST, free_port
from rawhttp import Connection
from run import git_state, log
from sut import REPO, OGXServer, ogx_binary

REPEATS = 5


def _json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


# (name, method, path, body): one request per API family, hot paths first.
REQUESTS = [
    ("chat", "POST", "/v1/chat/completions", payloads.chat_request(payloads.MODEL, stream=False)),
    ("messages", "POST", "/v1/messages", _json({
        "model": payloads.MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": payloads.PROMPT}],
    })),
    ("responses", "POST", "/v1/responses", _json({
        "model": payloads.MODEL, "input": payloads.PROMPT, "max_output_tokens": 50,
    })),
    ("conversations", "POST", "/v1/conversations", _json({
        "items": [{"type": "message", "role": "user", "content": payloads.PROMPT}],
    })),
    ("interactions", "POST", "/v1alpha/interactions", _json({"model": payloads.MODEL, "input": payloads.PROMPT})),
    ("vector_stores", "GET", "/v1/vector_stores", b""),
    ("toolgroups", "GET", "/v1/toolgroups", b""),
    ("openapi", "GET", "/openapi.json", b""),
]  # fmt: skip


def raw_request(method: str, path: str, body: bytes, port: int) -> bytes:
    host = f"{HOST}:{port}"
    return payloads.http_post(path, body, host) if method == "POST" else payloads.http_get(path, host)


def first_requests(port: int) -> dict[str, dict[str, float]]:
    """Each API's first request and the median of the next ones, in ms, on one connection."""
    conn = Connection(port, timeout=30.0)
    out: dict[str, dict[str, float]] = {}
    try:
        for name, method, path, body in REQUESTS:
            raw = raw_request(method, path, body, port)
            times = []
            for _ in range(1 + REPEATS):
                t0 = time.perf_counter()
                answer = conn.request(raw)
                times.append((time.perf_counter() - t0) * 1e3)
                if answer.status != 200:
                    raise RuntimeError(f"{name}: HTTP {answer.status}: {answer.body[:300]!r}")
            out[name] = {"first_ms": times[0], "later_ms": statistics.median(times[1:])}
    finally:
        conn.close()
    return out


def one_start(server: OGXServer) -> dict:
    start = server.start(60.0)
    start["cpu_s"] = server.cpu()  # CPU time to ready: what a loaded machine disturbs least
    try:
        start["requests"] = first_requests(server.port)
        start["after_requests"] = server.memory()
    finally:
        server.stop()
    return start


def summary(starts: list[dict]) -> dict:
    def median(get) -> float:
        return statistics.median(get(s) for s in starts)

    out = {
        "ready_s": median(lambda s: s["ready_s"]),
        "ready_s_min": min(s["ready_s"] for s in starts),
        "ready_s_max": max(s["ready_s"] for s in starts),
        "health_s": median(lambda s: s["health_s"]),
        "cpu_s": median(lambda s: s["cpu_s"]),
        "rss_after_start_mib": median(lambda s: s["rss_mib"]),
        "rss_after_requests_mib": median(lambda s: s["after_requests"]["rss_mib"]),
        "peak_rss_mib": median(lambda s: s["after_requests"]["peak_rss_mib"]),
        "requests": {},
    }
    for name, *_ in REQUESTS:
        out["requests"][name] = {
            key: median(lambda s, n=name, k=key: s["requests"][n][k]) for key in ("first_ms", "later_ms")
        }
    return out


def table(result: dict) -> str:
    s = result["summary"]
    rows = [
        f"{len(result['starts'])} starts, load average {result['loadavg_before']:.2f} before, "
        f"{result['loadavg_after']:.2f} after, git {result['git']}",
        "",
        "| metric | median (min-max) |",
        "|---|---:|",
        f"| ready: spawn to first chat 200 (s) | {s['ready_s']:.3f} ({s['ready_s_min']:.3f}-{s['ready_s_max']:.3f}) |",
        f"| spawn to first health 200 (s) | {s['health_s']:.3f} |",
        f"| server CPU time to ready (s) | {s['cpu_s']:.3f} |",
        f"| RSS after start (MiB) | {s['rss_after_start_mib']:.1f} |",
        f"| RSS after one request of each API (MiB) | {s['rss_after_requests_mib']:.1f} |",
        f"| peak RSS (MiB) | {s['peak_rss_mib']:.1f} |",
        "",
        "| first request (ms, median over starts) | first | later (median of 5) |",
        "|---|---:|---:|",
    ]  # fmt: skip
    for name, r in s["requests"].items():
        rows.append(f"| {name} | {r['first_ms']:.1f} | {r['later_ms']:.1f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=7, help="measured starts (default 7)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "startup.json")
    args = parser.parse_args(argv)
    binary = ogx_binary()
    if binary is None:
        sys.exit("no ogx executable (.venv/bin/ogx or PATH)")
    result: dict = {"git": git_state(), "loadavg_before": os.getloadavg()[0], "starts": []}
    with tempfile.TemporaryDirectory(prefix="ogx-bench-startup-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx workers run as `nobody` when we are root
        mock = MockBackend(workdir / "mock", free_port())
        try:
            mock.start()
            (workdir / "ogx").mkdir()
            for i in range(args.starts + 1):
                # One data dir, as run.py: the priming start creates and migrates the database
                # (~100 ms more on this machine), the measured ones are restarts.
                server = OGXServer(binary, workdir / "ogx", mock, free_port(), None)
                start = one_start(server)
                log(f"{'priming start' if i == 0 else f'start {i}'}: ready in {start['ready_s']:.3f} s, "
                    f"RSS {start['rss_mib']:.1f} MiB, peak {start['after_requests']['peak_rss_mib']:.1f} MiB")  # fmt: skip
                if i:
                    result["starts"].append(start)
        finally:
            mock.stop()
    result["loadavg_after"] = os.getloadavg()[0]
    result["summary"] = summary(result["starts"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
