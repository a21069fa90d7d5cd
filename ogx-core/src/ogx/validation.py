"""Turning pydantic validation errors into `path: message` lines that name the offending field
the way the client wrote it (`messages[0].content`), without pydantic's union-member tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def locate(loc: Sequence[str | int], data: Any, error_type: str) -> tuple[str | int, ...]:
    """Follow `loc` through the input `data`, keeping only the steps that exist in it: the
    others are tags pydantic adds for union members. A missing field keeps its name."""
    kept: list[str | int] = []
    current = data
    for index, step in enumerate(loc):
        is_last = index == len(loc) - 1
        if (isinstance(current, dict) and step in current) or (
            isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)
        ):
            kept.append(step)
            current = current[step]
        elif is_last and error_type in ("missing", "extra_forbidden"):
            kept.append(step)
    return tuple(kept)


def format_loc(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "required but missing"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return error["msg"]


def problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """(path, message) for each distinct problem, in pydantic's order."""
    seen: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        path = format_loc(locate(error["loc"], data, error["type"]))
        seen.setdefault(path, describe(error))
    return list(seen.items())
