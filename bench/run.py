#!/usr/bin/env python3
"""OGX benchmark: added latency and throughput of OGX relative to calling a mock backend directly.

    uv run python bench/run.py            # full run, ~1.5 min on 2 cores
    python3 bench/run.py --quick          # smoke run, ~20 s
    python3 bench/run.py --mock-only      # only the direct half (no OGX needed)

See bench/README.md for the method. Results: bench/results/latest.json (+ latest.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import report
from mock_backend import MockBackend, nginx_binary
from procs import free_port
from sut import REPO, OGXServer, ogx_binary
from wrk import wrk_binary

PACKAGES = {"nginx": "nginx-light", "wrk": "wrk"}
_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ogx", help="the ogx executable (default: .venv/bin/ogx, else ogx on PATH)")
    p.add_argument("--workers", type=int, help="pass --workers N to `ogx run` (default: not passed)")
    p.add_argument("--mock-only", action="store_true", help="measure only the direct side (no OGX)")
    p.add_argument("--quick", action="store_true", help="short smoke run (numbers are rough)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of one wrk run (default 5)")
    p.add_argument("--rounds", type=int, default=2, help="wrk runs per side and mode (default 2)")
    p.add_argument("--warmup-seconds", type=float, default=2.0, help="discarded wrk run per side (default 2)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--c1-rounds", type=int, default=20, help="c=1 latency rounds (default 20)")
    p.add_argument("--c1-per-round", type=int, default=250, help="requests per side per round (default 250)")
    p.add_argument("--c1-budget", type=float, default=25.0, help="max seconds for the c=1 phase (default 25)")
    p.add_argument("--ttfb-rounds", type=int, default=10)
    p.add_argument("--ttfb-per-round", type=int, default=100)
    p.add_argument("--ttfb-budget", type=float, default=15.0, help="max seconds for the TTFB phase")
    p.add_argument("--warmup-requests", type=int, default=300, help="discarded c=1 requests per side")
    p.add_argument("--ready-timeout", type=float, default=60.0)
    p.add_argument(
        "--no-prime", action="store_true", help="skip the discarded first start (fills the .pyc cache)"
    )
    p.add_argument("--no-install", action="store_true", help="never run apt-get; only say what is missing")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.warmup_seconds = 2.0, 1, 1.0
        args.c1_rounds, args.c1_per_round, args.ttfb_rounds, args.ttfb_per_round = 4, 100, 4, 25
        args.warmup_requests, args.c1_budget, args.ttfb_budget = 100, 5.0, 3.0
    return args


def ensure_tools(no_install: bool) -> None:
    """nginx and wrk must be there. As root (and unless --no-install) apt-get them, saying so."""
    found = {"nginx": nginx_binary(), "wrk": wrk_binary()}
    missing = [PACKAGES[name] for name, path in found.items() if path is None]
    if not missing:
        return
    command = f"apt-get update && apt-get install -y {' '.join(missing)}"
    if no_install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"bench: missing {', '.join(missing)}; install them first:\n    sudo {command}")
    log(f"missing {', '.join(missing)}; running as root: {command}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", *missing], check=True, env=env)


def _run(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    return (out.stdout + out.stderr).strip()


def git_state() -> str:
    head = _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    if not head or " " in head or "\n" in head:
        head = "no-commit"
    dirty = _run(["git", "-C", str(REPO), "status", "--porcelain"])
    return head + ("-dirty" if dirty and dirty != "?" else "")


def meta(args: argparse.Namespace) -> dict:
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_state(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "nginx": _run([nginx_binary() or "nginx", "-v"]),
        "wrk": _run([wrk_binary() or "wrk", "-v"]).splitlines()[0],
        "workers": args.workers,
        "loadavg_start": os.getloadavg(),
        "settings": settings,
    }


def measure_all(args: argparse.Namespace, sides: list[measure.Side], workdir: Path, results: dict) -> None:
    log(f"c=1 non-streaming latency: {args.c1_rounds} rounds x {args.c1_per_round} requests per side")
    results["latency_c1"] = measure.sequential(
        sides,
        stream=False,
        rounds=args.c1_rounds,
        per_round=args.c1_per_round,
        warmup=args.warmup_requests,
        budget_s=args.c1_budget,
    )
    log(f"c=1 streaming time to first byte: {args.ttfb_rounds} rounds x {args.ttfb_per_round} per side")
    results["ttfb_c1"] = measure.sequential(
        sides,
        stream=True,
        rounds=args.ttfb_rounds,
        per_round=args.ttfb_per_round,
        warmup=args.warmup_requests // 3,
        budget_s=args.ttfb_budget,
    )
    for stream in (False, True):
        kind = "stream" if stream else "chat"
        log(f"c={args.connections} {kind} throughput: {args.rounds} x {args.seconds:g} s wrk runs per side")
        results[f"throughput_c32_{kind}"] = measure.throughput(
            sides,
            workdir,
            stream=stream,
            rounds=args.rounds,
            seconds=args.seconds,
            warmup_s=args.warmup_seconds,
            connections=args.connections,
            threads=args.threads,
        )


def bench(args: argparse.Namespace, workdir: Path, results: dict) -> None:
    mock = MockBackend(workdir / "mock", free_port())
    server: OGXServer | None = None
    try:
        mock.start()
        log(f"mock backend (nginx) on {mock.base_url} and {mock.stream_base_url}")
        sides = [measure.direct_side(mock.port)]
        measure.check(sides[0])
        if not args.mock_only:
            binary = ogx_binary(args.ogx)
            if binary is None:
                raise RuntimeError("no ogx executable (.venv/bin/ogx or PATH); use --ogx or --mock-only")
            (workdir / "ogx").mkdir()
            server = OGXServer(binary, workdir / "ogx", mock, free_port(), args.workers)
            results["meta"]["server_argv"] = server.argv()
            if not args.no_prime:
                log(f"priming start (fills the bytecode cache): {' '.join(server.argv())}")
                first = server.start(args.ready_timeout)
                server.stop()
                log(f"priming start ready in {first['ready_s']:.3f} s")
            log(f"starting {' '.join(server.argv())}")
            start = server.start(args.ready_timeout)
            results["server"] = {
                "ready_s": start.pop("ready_s"),
                "health_s": start.pop("health_s"),
                "start": start,
            }
            if not args.no_prime:
                results["server"]["priming_ready_s"] = first["ready_s"]
            log(f"ogx ready in {results['server']['ready_s']:.3f} s, RSS {start.get('rss_mib', 0):.1f} MiB")
            cpu0 = server.cpu()
            sides.append(measure.proxied_side(server.port, server.cpu))
            measure.check(sides[1])
        measure_all(args, sides, workdir, results)
        if server is not None:
            results["server"]["final"] = server.memory()
            results["server"]["cpu_s_during_bench"] = server.cpu() - cpu0
            if server.proc and not server.proc.alive():
                raise RuntimeError(f"ogx died during the run:\n{server.proc.log_tail()}")
    finally:
        if server is not None:
            server.stop()
        mock.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_tools(args.no_install)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the `finally` blocks
    workdir = Path(tempfile.mkdtemp(prefix="ogx-bench-"))
    workdir.chmod(0o755)  # nginx workers run as `nobody` when we are root
    results: dict = {"meta": meta(args)}
    ok, failed_rc = False, 1
    try:
        bench(args, workdir, results)
        ok = True
    except (RuntimeError, OSError) as exc:  # socket errors and timeouts are OSErrors
        log(f"FAILED: {exc!r}" if isinstance(exc, OSError) else f"FAILED: {exc}")
    except KeyboardInterrupt:
        log("interrupted; every process the benchmark started is stopped")
        failed_rc = 130
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"configs and logs kept in {workdir}")
    if not ok:
        return failed_rc
    results["meta"]["loadavg_end"] = os.getloadavg()
    results["targets"] = report.targets(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(report.markdown(results))
    print(report.console(results))
    log(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
