"""OpenAI attribute filters as SQL over a `jsonb` column, with exactly the semantics of the
reference `ogx_api.vector_io.matches()`: a comparison only matches an attribute of the value's
own kind (string, number, boolean: checked with `jsonb_typeof`), a missing key never matches
(not even `ne`/`nin`), booleans only compare for equality, and strings order by code point
(`COLLATE "C"` compares UTF-8 bytes, which orders as code points do).

Values and keys are always bind parameters; only operators from a fixed table reach the SQL.
"""

from __future__ import annotations

from typing import Any

from ogx_api.vector_io import ComparisonFilter, CompoundFilter, Filter

_OPERATORS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_KINDS = {  # jsonb_typeof name, SQL of the attribute's value, bind parameter cast
    "string": ('(attributes ->> {key}) COLLATE "C"', "text"),
    "number": ("(attributes ->> {key})::float8", "float8"),
    "boolean": ("(attributes ->> {key})::boolean", "boolean"),
}


class FilterSQL:
    """Compiles filters into a WHERE clause, collecting its parameters. `first` is the number
    of the first placeholder (`$first`)."""

    def __init__(self, first: int = 1) -> None:
        self.params: list[Any] = []
        self._first = first

    def compile(self, filter_: Filter | None) -> str:
        if filter_ is None:
            return "TRUE"
        if isinstance(filter_, CompoundFilter):
            if not filter_.filters:
                return "TRUE" if filter_.type == "and" else "FALSE"
            joiner = " AND " if filter_.type == "and" else " OR "
            return "(" + joiner.join(self.compile(f) for f in filter_.filters) + ")"
        return self._comparison(filter_)

    def _comparison(self, filter_: ComparisonFilter) -> str:
        value = filter_.value
        if filter_.type in ("in", "nin"):
            values = value if isinstance(value, list) else [value]
            groups = {kind: [v for v in values if _kind(v) == kind] for kind in _KINDS}
            if filter_.type == "in" and not values:
                return "FALSE"
            key = self._param(filter_.key, "text")
            found = " OR ".join(
                self._typed(kind, key, f"= ANY({self._param(group, _KINDS[kind][1] + '[]')})")
                for kind, group in groups.items()
                if group
            )
            if filter_.type == "in":
                return f"({found})"
            return f"(attributes ? {key} AND NOT ({found or 'FALSE'}))"
        if isinstance(value, list):
            return "FALSE"
        kind = _kind(value)
        if kind == "boolean" and filter_.type not in ("eq", "ne"):
            return "FALSE"
        key = self._param(filter_.key, "text")
        return self._typed(kind, key, f"{_OPERATORS[filter_.type]} {self._param(value, _KINDS[kind][1])}")

    def _typed(self, kind: str, key: str, condition: str) -> str:
        # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the cast
        # must only see values of its kind. Never NULL, so NOT (for `nin`) stays exact.
        value_sql = _KINDS[kind][0].format(key=key)
        return (
            f"(CASE WHEN jsonb_typeof(attributes -> {key}) = '{kind}' "
            f"THEN coalesce({value_sql} {condition}, FALSE) ELSE FALSE END)"
        )

    def _param(self, value: Any, sql_type: str) -> str:
        if sql_type == "float8":
            value = float(value)
        elif sql_type == "float8[]":
            value = [float(v) for v in value]
        self.params.append(value)
        return f"${self._first + len(self.params) - 1}::{sql_type}"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"
