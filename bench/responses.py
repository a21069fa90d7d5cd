#!/usr/bin/env python3
"""Responses API benchmark: what a simple `POST /v1/responses` costs over the same chat completion
sent straight to the mock backend (bench/README.md has the method: nginx mock + wrk).

    python3 bench/responses.py            # about 1 minute on 2 cores
    python3 bench/responses.py --quick    # smoke run

Four sides, interleaved: `direct` (POST /v1/chat/completions to nginx), `ogx_chat` (the same
through OGX, to separate the proxy's own cost and the machine's load), `store` (POST
/v1/responses through OGX, stored: the default) and `nostore` (the same with `store: false`).
Results: bench/results/responses.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import payloads
from mock_backend import MockBackend
from procs import free_port
from run import ensure_tools, log, meta
from sut import REPO, OGXServer, ogx_binary


def responses_side(name: str, server: OGXServer, store: bool) -> measure.Side:
    body = {"model": payloads.MODEL, "input": payloads.PROMPT, "max_output_tokens": 50}
    if not store:
        body["store"] = False
    raw = json.dumps(body).encode()
    return measure.Side(name, server.port, "/v1/responses", "/v1/responses", raw, raw, server.cpu)


def chat_side(server: OGXServer) -> measure.Side:
    """The same chat completion through OGX: what the Responses layer adds on top of the proxy."""
    side = measure.proxied_side(server.port, server.cpu)
    side.name = "ogx_chat"
    return side


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "responses.json")
    args = p.parse_args(argv)
    args.rounds, args.per_round, args.budget = (4, 100, 6.0) if args.quick else (12, 250, 25.0)
    args.seconds, args.wrk_rounds = (2.0, 1) if args.quick else (5.0, 2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_tools(no_install=True)
    workdir = Path(tempfile.mkdtemp(prefix="ogx-bench-responses-"))
    workdir.chmod(0o755)
    mock = MockBackend(workdir / "mock", free_port())
    server = None
    results: dict = {"meta": meta(argparse.Namespace(workers=None, x=0))}
    try:
        mock.start()
        binary = ogx_binary()
        if binary is None:
            raise RuntimeError("no ogx executable")
        (workdir / "ogx").mkdir()
        server = OGXServer(binary, workdir / "ogx", mock, free_port(), None)
        server.start()
        sides = [
            measure.direct_side(mock.port),
            chat_side(server),
            responses_side("store", server, True),
            responses_side("nostore", server, False),
        ]
        log("c=1 latency, interleaved")
        latency = measure.sequential(
            sides,
            stream=False,
            rounds=args.rounds,
            per_round=args.per_round,
            warmup=200,
            budget_s=args.budget,
        )
        for name in ("ogx_chat", "store", "nostore"):
            latency[f"added_p50_ms_{name}"] = latency[name]["p50_ms"] - latency["direct"]["p50_ms"]
            latency[f"added_p50_median_of_rounds_ms_{name}"] = statistics.median(
                b - a
                for a, b in zip(latency["direct"]["round_p50_ms"], latency[name]["round_p50_ms"], strict=True)
            )
        results["latency_c1"] = latency
        log(f"c={args.connections} throughput (wrk)")
        results["throughput"] = measure.throughput(
            sides,
            workdir,
            stream=False,
            rounds=args.wrk_rounds,
            seconds=args.seconds,
            warmup_s=1.0,
            connections=args.connections,
            threads=2,
        )
    finally:
        if server is not None:
            server.stop()
        mock.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    lat, tp = results["latency_c1"], results["throughput"]
    for name in ("direct", "ogx_chat", "store", "nostore"):
        added = "" if name == "direct" else f"  added p50 {lat[f'added_p50_ms_{name}']:+.2f} ms"
        cpu = tp[name].get("server_cpu_us_per_request")
        added += f"  server CPU {cpu:.0f} us/request" if cpu else ""
        print(f"{name:8} c=1 p50 {lat[name]['p50_ms']:.2f} ms{added}   c={args.connections}: "
              f"{tp[name]['rps']:.0f} req/s (errors {tp[name]['errors'] + tp[name]['status_errors']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
