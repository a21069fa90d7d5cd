#!/usr/bin/env python3
"""This checkout of OGX against another one, side by side over the same mock backend (nginx,
see run.py), every phase interleaved in rounds, so a shared machine's load falls on both alike.

    python3 bench/ab.py --base /tmp/ogx-main            # about 2 minutes on 2 cores
    python3 bench/ab.py --base /tmp/ogx-main --quick    # a smoke run

`--base` is a source tree of OGX (e.g. `git archive main | tar -x -C /tmp/ogx-main`). Its server
runs with this checkout's `.venv` but with the base's `src` directories first on `PYTHONPATH`
(the workspace is installed editable, by path), plus `--base-path` entries for dependencies the
base needs and this venv lacks. Results: bench/results/ab.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
from mock_backend import MockBackend
from procs import free_port
from run import git_state, log
from sut import REPO, OGXServer, ogx_binary


class BaseServer(OGXServer):
    """The server of the base tree: the same executable, the base's sources first on the path."""

    def __init__(self, *args: object, pythonpath: str) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.pythonpath = pythonpath

    def env(self) -> dict[str, str]:
        return {**super().env(), "PYTHONPATH": self.pythonpath}


def base_pythonpath(base: Path, extra: list[str]) -> str:
    sources = [base / "ogx-api" / "src", base / "ogx-core" / "src", *sorted(base.glob("plugins/*/src"))]
    return os.pathsep.join([*extra, *map(str, sources)])


def side(name: str, server: OGXServer) -> measure.Side:
    proxied = measure.proxied_side(server.port, server.cpu)
    proxied.name = name
    return proxied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=Path, required=True, help="source tree of the OGX to compare with")
    parser.add_argument(
        "--base-path", action="append", default=[], help="extra PYTHONPATH entry for the base"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ab.json")
    args = parser.parse_args(argv)
    rounds, per_round, budget = (4, 100, 6.0) if args.quick else (10, 200, 30.0)
    wrk_rounds, seconds = (2, 2.0) if args.quick else (6, 3.0)
    binary = ogx_binary()
    if binary is None:
        sys.exit("no ogx executable (.venv/bin/ogx or PATH)")
    results: dict = {"git": git_state(), "base": str(args.base), "loadavg_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="ogx-bench-ab-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx workers run as `nobody` when we are root
        mock = MockBackend(workdir / "mock", free_port())
        for name in ("base", "this"):
            (workdir / name).mkdir()
        pythonpath = base_pythonpath(args.base.resolve(), args.base_path)
        base = BaseServer(binary, workdir / "base", mock, free_port(), None, pythonpath=pythonpath)
        this = OGXServer(binary, workdir / "this", mock, free_port(), None)
        try:
            mock.start()
            base.start(60.0)
            this.start(60.0)
            sides = [measure.direct_side(mock.port), side("base", base), side("this", this)]
            for each in sides:
                measure.check(each)
            for stream in (False, True):
                key = "c1_ttfb" if stream else "c1_latency"
                log(f"{key}: {rounds} rounds x {per_round} requests per side")
                results[key] = measure.sequential(
                    sides, stream=stream, rounds=rounds, per_round=per_round, warmup=200, budget_s=budget
                )
                key = "c32_stream" if stream else "c32_chat"
                log(f"{key}: {wrk_rounds} rounds x {seconds:g} s per side")
                results[key] = measure.throughput(
                    sides, workdir, stream=stream, rounds=wrk_rounds, seconds=seconds, warmup_s=1.0,
                    connections=32, threads=2,
                )  # fmt: skip
        finally:
            this.stop()
            base.stop()
            mock.stop()
    results["loadavg_after"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(results: dict) -> str:
    rows = [
        f"load average {results['loadavg_before']:.1f} before, {results['loadavg_after']:.1f} after",
        "",
        "| metric | direct | base | this | this / base |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in (("c1_latency", "chat c=1 p50 (ms)"), ("c1_ttfb", "stream first byte c=1 p50 (ms)")):
        d, b, t = (results[key][n]["p50_ms"] for n in ("direct", "base", "this"))
        rows.append(f"| {label} | {d:.3f} | {b:.3f} (+{b - d:.3f}) | {t:.3f} (+{t - d:.3f}) | x{t / b:.2f} |")
    for key, label in (("c32_chat", "chat c=32"), ("c32_stream", "stream c=32")):
        r = results[key]
        d, b, t = (r[n]["rps"] for n in ("direct", "base", "this"))
        rows.append(f"| {label} req/s | {d:,.0f} | {b:,.0f} | {t:,.0f} | x{t / b:.2f} |")
        b, t = (r[n].get("server_cpu_us_per_request", 0) for n in ("base", "this"))
        rows.append(f"| {label} server CPU/request (µs) | - | {b:,.0f} | {t:,.0f} | x{t / b:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
