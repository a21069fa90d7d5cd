"""`${env.X}` substitution in every string of a run config.

- `${env.X}`            the value of X; an error (naming X and the YAML path) when X is unset
- `${env.X:=default}`   the value of X when set and non-empty, else `default`
- `${env.X:+value}`     `value` when X is set and non-empty, else empty
- `$${env.X}`           the literal text `${env.X}`

A string that is exactly one reference and resolves to empty becomes null, so optional fields
can be switched off and a provider whose `provider_id` resolves empty is disabled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ogx.config.errors import format_path

_REFERENCE = re.compile(
    r"(?P<escape>\$)?\$\{env\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:=|:\+)(?P<arg>[^}]*))?\}"
)
_ANY_REFERENCE = re.compile(r"\$\{env\.")


class SubstitutionError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def substitute(tree: Any, environ: Mapping[str, str]) -> Any:
    """Return a copy of `tree` with every reference resolved. Collects every problem before
    raising `SubstitutionError`, so one run reports them all."""
    problems: list[str] = []
    result = _walk(tree, environ, (), problems)
    if problems:
        raise SubstitutionError(problems)
    return result


def _walk(node: Any, environ: Mapping[str, str], path: tuple[str | int, ...], problems: list[str]) -> Any:
    if isinstance(node, str):
        return _substitute_string(node, environ, path, problems)
    if isinstance(node, Mapping):
        return {key: _walk(value, environ, (*path, str(key)), problems) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, environ, (*path, index), problems) for index, value in enumerate(node)]
    return node


def _substitute_string(
    text: str, environ: Mapping[str, str], path: tuple[str | int, ...], problems: list[str]
) -> str | None:
    if "${" not in text:
        return text
    where = format_path(path)
    reference_starts: set[int] = set()

    def replace(match: re.Match[str]) -> str:
        reference_starts.add(match.start() + (1 if match["escape"] else 0))
        if match["escape"]:
            return match.group(0)[1:]
        name, op, arg = match["name"], match["op"], match["arg"]
        value = environ.get(name)
        if op == ":=":
            return value if value else arg
        if op == ":+":
            return arg if value else ""
        if value is None:
            problems.append(
                f"{where}: environment variable {name} is not set "
                f"(referenced as ${{env.{name}}}; use ${{env.{name}:=default}} to give a default)"
            )
            return ""
        return value

    resolved = _REFERENCE.sub(replace, text)
    for bad in _ANY_REFERENCE.finditer(text):
        if bad.start() not in reference_starts:
            fragment = text[bad.start() : text.find("}", bad.start()) + 1 or len(text)]
            problems.append(
                f"{where}: malformed reference {fragment!r}; expected ${{env.NAME}}, "
                "${env.NAME:=default} or ${env.NAME:+value}"
            )
    whole_reference = bool(_REFERENCE.fullmatch(text)) and not text.startswith("$$")
    if whole_reference and resolved == "":
        return None
    return resolved
