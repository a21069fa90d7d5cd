"""Turning the results dict into targets, a console table and a Markdown table."""

from __future__ import annotations

# (key, description, limit, "max" = value must be <= limit / "min" = value must be >= limit)
TARGETS = [
    ("added_p50_ms_c1", "added p50 latency at c=1, non-streaming (ms)", 1.0, "max"),
    ("proxied_rps_c32", "req/s through OGX at c=32, non-streaming", 900.0, "min"),
    ("added_ttfb_p50_ms_c1", "added time to first streamed byte, p50 at c=1 (ms)", 1.0, "max"),
    ("ready_s", "process start to first successful answer (s)", 1.0, "max"),
    ("peak_rss_mib", "server peak RSS, whole process tree (MiB)", 100.0, "max"),
]


def _get(results: dict, *keys: str) -> float | None:
    node = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, int | float) else None


def targets(results: dict) -> dict:
    values = {
        "added_p50_ms_c1": _get(results, "latency_c1", "added_p50_ms"),
        "proxied_rps_c32": _get(results, "throughput_c32_chat", "proxied", "rps"),
        "added_ttfb_p50_ms_c1": _get(results, "ttfb_c1", "added_p50_ms"),
        "ready_s": _get(results, "server", "ready_s"),
        "peak_rss_mib": _get(results, "server", "final", "tree_peak_rss_mib"),
    }
    out = {}
    for key, text, limit, sense in TARGETS:
        value = values[key]
        ok = None if value is None else (value <= limit if sense == "max" else value >= limit)
        out[key] = {"what": text, "target": limit, "sense": sense, "value": value, "pass": ok}
    return out


def _f(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(metric, direct, proxied, added-or-ratio) rows shared by both renderings."""
    out: list[tuple[str, str, str, str]] = []
    for key, label in (("latency_c1", "chat c=1"), ("ttfb_c1", "stream first byte c=1")):
        block = results.get(key)
        if not block:
            continue
        for q in ("p50", "p99"):
            d, p = _get(block, "direct", f"{q}_ms"), _get(block, "proxied", f"{q}_ms")
            added = _get(block, f"added_{q}_ms")
            out.append((f"{label} {q} (ms)", _f(d), _f(p), "-" if added is None else f"+{_f(added)} ms"))
    for key, label in (("throughput_c32_chat", "chat"), ("throughput_c32_stream", "stream")):
        block = results.get(key)
        if not block:
            continue
        ratio = _get(block, "ratio_rps")
        out.append(
            (
                f"{label} c=32 req/s",
                _f(_get(block, "direct", "rps"), 0),
                _f(_get(block, "proxied", "rps"), 0),
                "-" if ratio is None else f"x{ratio:.3f}",
            )
        )
        cpu = _get(block, "proxied", "server_cpu_us_per_request")
        if cpu is not None:
            out.append((f"{label} c=32 server CPU/request (us)", "-", _f(cpu, 0), "-"))
    server = results.get("server") or {}
    if server:
        out.append(("server ready (s)", "-", _f(_get(server, "ready_s")), "-"))
        out.append(("server RSS after start (MiB)", "-", _f(_get(server, "start", "rss_mib"), 1), "-"))
        out.append(("server peak RSS (MiB)", "-", _f(_get(server, "final", "tree_peak_rss_mib"), 1), "-"))
    return out


def console(results: dict) -> str:
    table = [("metric", "direct", "proxied", "added / ratio"), *rows(results)]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = []
    for i, row in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(widths[0]) if j == 0 else cell.rjust(widths[j]) for j, cell in enumerate(row)
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    meta = results.get("meta", {})
    lines.append("")
    lines.append(
        f"  load average (1 min) before/after: {_load(meta.get('loadavg_start'))} / "
        f"{_load(meta.get('loadavg_end'))} on {meta.get('cpus', '?')} CPUs; git {meta.get('git', '?')}"
    )
    for item in results.get("targets", {}).values():
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[item["pass"]]
        op = "<=" if item["sense"] == "max" else ">="
        lines.append(f"  [{mark}] {item['what']}: {_f(item['value'])} (target {op} {item['target']:g})")
    return "\n".join(lines)


def _load(value: list[float] | None) -> str:
    return "?" if not value else f"{value[0]:.2f}"


def markdown(results: dict) -> str:
    meta = results.get("meta", {})
    lines = [
        f"Run {meta.get('date', '?')}, git {meta.get('git', '?')}, {meta.get('cpus', '?')} CPUs, "
        f"{meta.get('platform', '?')}, `ogx run` "
        f"workers={meta.get('workers') or 'default'}, load average before/after "
        f"{_load(meta.get('loadavg_start'))} / {_load(meta.get('loadavg_end'))}.",
        "",
        "| metric | direct | proxied | added / ratio |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(results)]
    lines += ["", "| target | value | limit | |", "|---|---:|---:|---|"]
    for item in results.get("targets", {}).values():
        mark = {True: "pass", False: "**fail**", None: "n/a"}[item["pass"]]
        op = "≤" if item["sense"] == "max" else "≥"
        lines.append(f"| {item['what']} | {_f(item['value'])} | {op} {item['target']:g} | {mark} |")
    return "\n".join(lines) + "\n"
