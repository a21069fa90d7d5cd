#!/usr/bin/env python3
"""CPU per request of OGX's own code, path against path, in one process: the app is driven
through ASGI by 32 concurrent tasks, and its inference provider answers at once
(`canned_provider.py`), so what is measured is the routing, parsing, translating and writing
that a request costs OGX, free of sockets, of the HTTP client and of other processes.

    .venv/bin/python bench/handler_cpu.py                # chat vs messages, the small request
    .venv/bin/python bench/handler_cpu.py --shape tools  # Claude-Code-like: 20 tools, 30 turns

Rounds alternate the paths (ABBA); each round sends `--per-round` requests per task and records
process CPU time per request (`time.process_time`). Reported: the median per path and the
median over rounds of messages - chat. `bench/messages.py` measures the same difference over
real HTTP against the nginx mock, where it shows as latency at c=32."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import payloads
from canned_provider import PROVIDER_TYPE, canned_spec

from ogx.config.loader import parse_run_config
from ogx.plugins.manager import PluginInfo, PluginManager
from ogx.server.app import create_app
from ogx_api import hookimpl


class _BenchPlugin:
    @hookimpl
    def ogx_provider_specs(self) -> list[Any]:
        return [canned_spec()]


def bodies(shape: str) -> tuple[bytes, bytes]:
    """(chat body, messages body) asking the same thing."""
    if shape == "small":
        body = {
            "model": payloads.MODEL,
            "max_tokens": 50,
            "messages": [{"role": "user", "content": payloads.PROMPT}],
        }
        raw = json.dumps(body).encode()
        return raw, raw
    schema = {
        "type": "object",
        "properties": {f"arg{j}": {"type": "string", "description": f"argument {j} " * 3} for j in range(5)},
        "required": ["arg0"],
    }
    tools = [
        {"name": f"tool_{i}", "description": f"Does thing {i}. " * 20, "input_schema": schema}
        for i in range(20)
    ]
    system = "You are a coding agent. " * 200
    anthropic: list[dict[str, Any]] = []
    openai: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for turn in range(10):
        ask, call, result = "please do the thing " * 20, f"toolu_{turn}", "result " * 50
        anthropic += [
            {"role": "user", "content": [{"type": "text", "text": ask}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": call, "name": "tool_1", "input": {"arg0": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": result}]},
        ]  # fmt: skip
        openai += [
            {"role": "user", "content": ask},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": call, "type": "function", "function": {"name": "tool_1", "arguments": '{"arg0":"x"}'}}]},
            {"role": "tool", "tool_call_id": call, "content": result},
        ]  # fmt: skip
    chat = {
        "model": payloads.MODEL,
        "max_tokens": 50,
        "messages": openai,
        "tools": [
            {
                "type": "function",
                "function": {"name": t["name"], "description": t["description"], "parameters": schema},
            }
            for t in tools
        ],
    }
    messages = {
        "model": payloads.MODEL,
        "max_tokens": 50,
        "system": system,
        "tools": tools,
        "messages": anthropic,
    }
    return json.dumps(chat).encode(), json.dumps(messages).encode()


def scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
    }  # fmt: skip


async def one(app: Any, path: str, body: bytes) -> None:
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the response is sent first
        raise AssertionError

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope(path, body), receive, send)
    if status != [200]:
        raise RuntimeError(f"{path}: HTTP {status}")


async def load(app: Any, path: str, body: bytes, tasks: int, each: int) -> float:
    """CPU µs per request for `tasks` concurrent tasks sending `each` requests."""

    async def task() -> None:
        for _ in range(each):
            await one(app, path, body)

    started = time.process_time()
    await asyncio.gather(*(task() for _ in range(tasks)))
    return (time.process_time() - started) * 1e6 / (tasks * each)


async def measure(shape: str, rounds: int, per_round: int, tasks: int) -> dict[str, Any]:
    chat_body, messages_body = bodies(shape)
    sides = {"chat": ("/v1/chat/completions", chat_body), "messages": ("/v1/messages", messages_body)}
    plugins = PluginManager(
        load_entry_points=False, plugins=[(PluginInfo("bench", "bench", "0"), _BenchPlugin())], environ={}
    )
    with tempfile.TemporaryDirectory(prefix="ogx-bench-cpu-") as tmp:
        tree = {
            "version": 2,
            "name": "bench",
            "storage": {"url": f"sqlite:///{tmp}/ogx.db"},
            "providers": {
                "inference": [{"provider_id": "canned", "provider_type": PROVIDER_TYPE, "config": {}}]
            },
            "registered_resources": {"models": [{"model_id": payloads.MODEL, "provider_id": "canned"}]},
        }
        app = create_app(parse_run_config(tree, environ={}), plugins=plugins)
        async with app.router.lifespan_context(app):
            for path, body in sides.values():  # warm-up
                await load(app, path, body, tasks, per_round)
            cpu: dict[str, list[float]] = {name: [] for name in sides}
            order = list(sides)
            for r in range(rounds):
                for name in order if r % 2 == 0 else order[::-1]:
                    cpu[name].append(await load(app, *sides[name], tasks, per_round))
    return {
        "shape": shape,
        "tasks": tasks,
        "rounds": rounds,
        "per_round": per_round,
        "cpu_us": {name: statistics.median(v) for name, v in cpu.items()},
        "messages_minus_chat_us": statistics.median(
            m - c for c, m in zip(cpu["chat"], cpu["messages"], strict=True)
        ),
        "rounds_us": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=("small", "tools"), default="small")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=32)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.shape, args.rounds, args.per_round, args.tasks))
    out = Path(__file__).resolve().parent / "results" / f"handler_cpu_{args.shape}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    cpu = result["cpu_us"]
    print(f"shape {args.shape}, {args.tasks} concurrent: chat {cpu['chat']:.1f} µs, messages {cpu['messages']:.1f} µs "
          f"CPU per request; messages - chat {result['messages_minus_chat_us']:+.1f} µs (median of rounds)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
