"""The measurements: interleaved c=1 latency and time to first byte, and c=32 throughput.

"Interleaved" means the direct and the proxied side alternate in short rounds, in ABBA order
(round 0: direct then proxied, round 1: proxied then direct, ...), so CPU-frequency, cache and
neighbour drift on the shared 2-core box lands on both sides equally.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import payloads
import wrk
from procs import HOST
from rawhttp import Answer, Connection, fetch


@dataclass
class Side:
    """One way of reaching the mock: straight at nginx ("direct") or through OGX ("proxied")."""

    name: str
    port: int
    chat_path: str
    stream_path: str
    chat_body: bytes
    stream_body: bytes
    cpu_probe: Callable[[], float] | None = None  # CPU seconds of the process under test

    def chat_request(self) -> bytes:
        return payloads.http_post(self.chat_path, self.chat_body, f"{HOST}:{self.port}")

    def stream_request(self) -> bytes:
        return payloads.http_post(self.stream_path, self.stream_body, f"{HOST}:{self.port}")


def direct_side(port: int) -> Side:
    return Side(
        "direct",
        port,
        "/v1/chat/completions",
        "/stream/v1/chat/completions",
        payloads.chat_request(payloads.MODEL, stream=False),
        payloads.chat_request(payloads.MODEL, stream=True),
    )


def proxied_side(port: int, cpu_probe: Callable[[], float] | None = None) -> Side:
    return Side(
        "proxied",
        port,
        "/v1/chat/completions",
        "/v1/chat/completions",
        payloads.chat_request(payloads.MODEL, stream=False),
        payloads.chat_request(payloads.STREAM_MODEL, stream=True),
        cpu_probe,
    )


# ---------------------------------------------------------------- correctness probes


def _stream_text(body: bytes) -> tuple[str, int, bool]:
    text, events, done = [], 0, False
    for block in body.split(b"\n\n"):
        for line in block.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                done = True
                continue
            events += 1
            for choice in json.loads(data).get("choices") or []:
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text), events, done


def check(side: Side) -> None:
    """Fail loudly unless `side` answers both request kinds with the mock's content."""
    answer = fetch(side.port, side.chat_request())
    _expect(answer, side, "chat")
    content = json.loads(answer.body)["choices"][0]["message"]["content"]
    if content != payloads.ANSWER:
        raise RuntimeError(f"{side.name} chat: unexpected content {content!r}")
    answer = fetch(side.port, side.stream_request())
    _expect(answer, side, "stream")
    text, events, done = _stream_text(answer.body)
    if text != payloads.ANSWER or events < 20 or not done:
        raise RuntimeError(f"{side.name} stream: {events} events, done={done}, text={text!r}")


def _expect(answer: Answer, side: Side, what: str) -> None:
    if answer.status != 200:
        raise RuntimeError(f"{side.name} {what}: HTTP {answer.status}: {answer.body[:500]!r}")


# ---------------------------------------------------------------- c=1, Python client


def percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize_ms(samples_ns: list[int]) -> dict:
    ordered = sorted(s / 1e6 for s in samples_ns)
    return {
        "n": len(ordered),
        "mean_ms": statistics.fmean(ordered),
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
    }


def sequential(
    sides: list[Side], *, stream: bool, rounds: int, per_round: int, warmup: int, budget_s: float
) -> dict:
    """c=1 on one keep-alive connection per side; total latency, or time to first `data:` byte.

    Each block of `per_round` requests also stops at its share of `budget_s` (warm-up gets a
    tenth of it), so a slow server shortens the phase instead of stretching the run.
    """
    conns = {s.name: Connection(s.port) for s in sides}
    raws = {s.name: (s.stream_request() if stream else s.chat_request()) for s in sides}
    samples: dict[str, list[int]] = {s.name: [] for s in sides}
    round_p50: dict[str, list[float]] = {s.name: [] for s in sides}

    def one(name: str) -> int:
        answer = conns[name].request(raws[name])
        if answer.status != 200:
            raise RuntimeError(f"{name}: HTTP {answer.status}: {answer.body[:300]!r}")
        if stream:
            if answer.first_data_ns is None:
                raise RuntimeError(f"{name}: streamed answer without a data: line")
            return answer.first_data_ns
        return answer.total_ns

    def block(name: str, count: int, seconds: float) -> list[int]:
        deadline = time.monotonic() + seconds
        out = [one(name)]
        while len(out) < count and time.monotonic() < deadline:
            out.append(one(name))
        return out

    try:
        for side in sides:
            block(side.name, warmup, budget_s / 10 / len(sides))
        share = budget_s * 0.9 / rounds / len(sides)
        for r in range(rounds):
            for side in sides if r % 2 == 0 else list(reversed(sides)):
                got = block(side.name, per_round, share)
                samples[side.name] += got
                round_p50[side.name].append(statistics.median(got) / 1e6)
    finally:
        for conn in conns.values():
            conn.close()
    result: dict = {"rounds": rounds, "per_round": per_round, "warmup": warmup, "budget_s": budget_s}
    for side in sides:
        result[side.name] = summarize_ms(samples[side.name])
        result[side.name]["round_p50_ms"] = round_p50[side.name]
        result[side.name]["reconnects"] = conns[side.name].reconnects
    _add_deltas(result, [s.name for s in sides])
    return result


def _add_deltas(result: dict, names: list[str]) -> None:
    if names != ["direct", "proxied"]:
        return
    d, p = result["direct"], result["proxied"]
    result["added_p50_ms"] = p["p50_ms"] - d["p50_ms"]
    result["added_p99_ms"] = p["p99_ms"] - d["p99_ms"]
    result["added_mean_ms"] = p["mean_ms"] - d["mean_ms"]
    result["ratio_p50"] = p["p50_ms"] / d["p50_ms"]
    diffs = [b - a for a, b in zip(d["round_p50_ms"], p["round_p50_ms"], strict=True)]
    result["added_p50_median_of_rounds_ms"] = statistics.median(diffs)


# ---------------------------------------------------------------- c=32, wrk


def throughput(
    sides: list[Side],
    workdir: Path,
    *,
    stream: bool,
    rounds: int,
    seconds: float,
    warmup_s: float,
    connections: int,
    threads: int,
) -> dict:
    """Closed-loop wrk runs, interleaved ABBA; requests/s = all requests / all measured time."""
    kind = "stream" if stream else "chat"
    scripts = {
        s.name: wrk.write_script(workdir / f"{s.name}-{kind}.lua", s.stream_body if stream else s.chat_body)
        for s in sides
    }
    paths = {s.name: s.stream_path if stream else s.chat_path for s in sides}

    def go(side: Side, secs: float) -> dict:
        before = side.cpu_probe() if side.cpu_probe else None
        res = wrk.run(scripts[side.name], side.port, paths[side.name], seconds=secs,
                      connections=connections, threads=threads)  # fmt: skip
        if before is not None and side.cpu_probe and res["requests"]:
            res["server_cpu_us_per_request"] = (side.cpu_probe() - before) * 1e6 / res["requests"]
        return res

    for side in sides:
        if warmup_s > 0:
            go(side, warmup_s)
    runs: dict[str, list[dict]] = {s.name: [] for s in sides}
    for r in range(rounds):
        for side in sides if r % 2 == 0 else list(reversed(sides)):
            runs[side.name].append(go(side, seconds))
    result: dict = {"connections": connections, "threads": threads, "rounds": rounds, "seconds": seconds}
    for side in sides:
        rs = runs[side.name]
        requests = sum(x["requests"] for x in rs)
        duration = sum(x["duration_us"] for x in rs) / 1e6
        entry = {
            "rps": requests / duration,
            "requests": requests,
            "errors": sum(x["errors"] for x in rs),
            "status_errors": sum(x["status_errors"] for x in rs),
            "round_rps": [x["rps"] for x in rs],
            "round_p50_us": [x["p50_us"] for x in rs],
            "p50_ms": statistics.median(x["p50_us"] for x in rs) / 1e3,
            "p99_ms": max(x["p99_us"] for x in rs) / 1e3,
        }
        cpu = [x["server_cpu_us_per_request"] for x in rs if "server_cpu_us_per_request" in x]
        if cpu:
            entry["server_cpu_us_per_request"] = statistics.fmean(cpu)
        result[side.name] = entry
    if "direct" in result and "proxied" in result:
        result["ratio_rps"] = result["proxied"]["rps"] / result["direct"]["rps"]
    return result
