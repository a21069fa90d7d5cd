from __future__ import annotations


class ConfigError(Exception):
    """A run config that cannot be used. Each problem names its YAML path and what was expected."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid run config{where}:\n{lines}")


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`("providers", "inference", 0, "config")` → `providers.inference[0].config`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"
