"""Closed-loop throughput runs with `wrk` (POST bodies via a Lua script)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from procs import HOST

# wrk's `done` hook prints one machine-readable line; latencies are in microseconds.
_LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def write_script(path: Path, body: bytes) -> Path:
    text = body.decode()
    assert "]==]" not in text
    path.write_text(_LUA.format(body=text))
    return path


def run(script: Path, port: int, path: str, *, seconds: float, connections: int, threads: int = 2) -> dict:
    """One wrk run; returns its counters plus `rps`. Raises if wrk fails or prints no result."""
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError("wrk is not installed")
    threads = max(1, min(threads, connections))
    argv = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{path}",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]}{out.stderr[-2000:]}")
    result = json.loads(line[len("WRKJSON ") :])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return result
