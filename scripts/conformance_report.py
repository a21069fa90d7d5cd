#!/usr/bin/env python
"""Conformance of our served `/openapi.json` with the vendors' specifications.

For every endpoint OGX serves that a vendor spec describes (OpenAI, Anthropic, Google), the
request body and the 200 response are compared property by property, recursively: each vendor
property is *matched* when ours exists with a compatible type, required-ness and enum. The score
of an API is the share of its vendor properties (on served endpoints) that we match.

Compatibility is directional. In a request we must accept what the vendor accepts: every vendor
type (an integer where they take a number is not enough) and enum value, and we may not require
what they leave optional. In a response we may only send what the vendor describes: our types
and enum values within theirs, and what they require, we must always send. Nullability is
ignored. Vendor `readOnly` properties are not counted in requests, `writeOnly` ones not in
responses. Unions are compared variant by variant (paired by a constant property such as `type`,
else by the best match). In a request every vendor variant counts (we must accept them all, even
if only to refuse one with a clear 400); in a response a variant we never send is not counted, as
long as we send some variant of that union (sending a subset of the vendor's kinds is conformant).

    python scripts/conformance_report.py                 # build the app in-process
    python scripts/conformance_report.py --url http://127.0.0.1:8321
    python scripts/conformance_report.py --verbose --json report.json --check scripts/conformance_baseline.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = ROOT.parent / "shared" / "specs"
SPEC_FILES = {
    "openai": "openai-spec-2.3.0.yml",
    "anthropic": "anthropic-spec.json",
    "google": "google-interactions-spec.json",
}
METHODS = ("get", "post", "put", "patch", "delete")
MAX_DEPTH = 7
GOOGLE_VERSIONS = ("v1beta", "v1alpha", "v1")  # the prefixes OGX serves Google's `/{api_version}` paths at
ALIAS = "x-ogx-alias-of"  # marks an operation that repeats another path's (not counted twice)
SCALARS = {"string", "number", "integer", "boolean", "null"}


@dataclass(frozen=True)
class Check:
    api: str
    endpoint: str  # "POST /v1/chat/completions"
    where: str  # "request" or "response"
    path: str  # the vendor property, e.g. "messages[]{role=user}.content"
    ok: bool
    reason: str = ""


# -- schema normalisation ----------------------------------------------------------------------


class Doc:
    """An OpenAPI document, for resolving `#/...` references."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: Any) -> tuple[dict[str, Any], str | None]:
        """The schema with its `$ref` chain followed, and the last referenced name."""
        name = None
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 50:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            target: Any = self.document
            for part in ref.lstrip("#/").split("/"):
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"), {})
                    if isinstance(target, dict)
                    else {}
                )
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if extra else target
            seen += 1
        return (schema if isinstance(schema, dict) else {}), name


@dataclass
class Node:
    """A schema reduced to what we compare. `variants` is set for a union of shapes."""

    types: set[str]
    properties: dict[str, Any]
    required: set[str]
    enum: set[Any] | None  # None: not an enum (any value of its type)
    items: Any
    name: str | None
    read_only: bool = False
    write_only: bool = False
    variants: list[Node] | None = None
    raw: dict[str, Any] | None = None


def normalise(schema: Any, doc: Doc) -> Node:
    resolved, name = doc.resolve(schema)
    if "allOf" in resolved:
        merged: dict[str, Any] = {k: v for k, v in resolved.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties", {}))
        required = set(merged.get("required", []))
        for part in resolved["allOf"]:
            sub = normalise(part, doc)
            properties.update(sub.properties)
            required |= sub.required
            if sub.types - {"any"}:
                merged.setdefault("type", sorted(sub.types - {"any"})[0])
            if sub.variants and "anyOf" not in merged:
                merged["anyOf"] = [v.raw for v in sub.variants]
        merged["properties"], merged["required"] = properties, sorted(required)
        resolved = merged
    union = resolved.get("oneOf") or resolved.get("anyOf")
    if union:
        variants = [v for v in _flatten(union, doc) if v.types != {"null"}]
        node = _collapse(variants, name)
        node.read_only = node.read_only or bool(resolved.get("readOnly"))
        node.write_only = node.write_only or bool(resolved.get("writeOnly"))
        return node
    return _leaf(resolved, name)


def _flatten(union: list[Any], doc: Doc) -> Iterator[Node]:
    for member in union:
        node = normalise(member, doc)
        if node.variants:
            yield from node.variants
        else:
            yield node


def _collapse(variants: list[Node], name: str | None) -> Node:
    if not variants:
        return Node({"any"}, {}, set(), None, None, name)
    if len(variants) == 1:
        node = variants[0]
        node.name = node.name or name
        return node
    if all(v.types <= SCALARS and not v.properties for v in variants):
        # `string | enum of strings` is an open string; only a union of enums stays an enum
        enums = [v.enum for v in variants]
        enum = set().union(*enums) if all(e is not None for e in enums) else None  # type: ignore[arg-type]
        return Node(set().union(*(v.types for v in variants)), {}, set(), enum, None, name)
    return Node(set().union(*(v.types for v in variants)), {}, set(), None, None, name, variants=variants)


def _leaf(schema: dict[str, Any], name: str | None) -> Node:
    declared = schema.get("type")
    types = set(declared if isinstance(declared, list) else [declared] if declared else [])
    enum = None
    if "const" in schema:
        enum = {schema["const"]}
    elif "enum" in schema:
        enum = {v for v in schema["enum"] if v is not None}
    if not types:
        if enum:
            types = {_json_type(v) for v in enum}
        elif "properties" in schema or "additionalProperties" in schema:
            types = {"object"}
        elif "items" in schema:
            types = {"array"}
        else:
            types = {"any"}
    if schema.get("nullable"):
        types.add("null")
    return Node(
        types=types,
        properties=schema.get("properties") or {},
        required=set(schema.get("required") or []),
        enum=enum,
        items=schema.get("items"),
        name=name,
        read_only=bool(schema.get("readOnly")),
        write_only=bool(schema.get("writeOnly")),
        raw=schema,
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "object"


# -- comparison ---------------------------------------------------------------------------------


class Comparison:
    def __init__(self, vendor: Doc, ours: Doc, where: str, max_depth: int = MAX_DEPTH) -> None:
        self.vendor, self.ours, self.where, self.max_depth = vendor, ours, where, max_depth

    def body(self, vendor_schema: Any, our_schema: Any) -> list[tuple[str, bool, str]]:
        """(path, ok, reason) for each vendor property of a request or response body."""
        return list(self._walk(vendor_schema, our_schema, "", 0, ()))

    def _walk(
        self, v_raw: Any, o_raw: Any, path: str, depth: int, stack: tuple[str, ...]
    ) -> Iterator[tuple[str, bool, str]]:
        if depth >= self.max_depth:
            return
        v = normalise(v_raw, self.vendor)
        if v.name and v.name in stack:
            return  # recursive schema: counted once along a path
        stack = (*stack, v.name) if v.name else stack
        o = normalise(o_raw, self.ours) if o_raw is not None else None
        if v.variants:
            pairs = [(variant, self._pair(variant, o)) for variant in v.variants]
            sends_some = any(counterpart is not None for _, counterpart in pairs)
            for index, (variant, counterpart) in enumerate(pairs):
                if counterpart is None and sends_some and self.where == "response":
                    continue  # a kind of the vendor's union we never send: allowed, nothing to compare
                label = _label(variant, index)
                yield from self._shape(variant, counterpart, f"{path}<{label}>", depth, stack)
            return
        yield from self._shape(v, o, path, depth, stack)

    def _shape(
        self, v: Node, o: Node | None, path: str, depth: int, stack: tuple[str, ...]
    ) -> Iterator[tuple[str, bool, str]]:
        if o is not None and o.variants:
            o = self._pair(v, o)
        if "array" in v.types and v.items is not None:
            items = o.items if o is not None and "array" in o.types else None
            yield from self._walk(v.items, items, f"{path}[]", depth, stack)
        for name, v_prop_raw in v.properties.items():
            v_prop = normalise(v_prop_raw, self.vendor)
            if (self.where == "request" and v_prop.read_only) or (
                self.where == "response" and v_prop.write_only
            ):
                continue
            prop_path = f"{path}.{name}" if path else name
            o_prop_raw = o.properties.get(name) if o is not None else None
            if o_prop_raw is None:
                yield prop_path, False, "missing"
                yield from self._walk(v_prop_raw, None, prop_path, depth + 1, stack)
                continue
            o_prop = normalise(o_prop_raw, self.ours)
            reason = self._mismatch(v_prop, o_prop, name in v.required, name in (o.required if o else set()))
            yield prop_path, not reason, reason
            yield from self._walk(v_prop_raw, o_prop_raw, prop_path, depth + 1, stack)

    def _pair(self, v: Node, o: Node | None) -> Node | None:
        """Our union member that stands for vendor variant `v`."""
        if o is None:
            return None
        candidates = o.variants or [o]
        tag = normalise(v.properties["type"], self.vendor).enum if "type" in v.properties else None
        if tag:  # a member tagged with another `type` never stands for this variant
            candidates = [
                c for c in candidates if not (tag_of(c, self.ours) and not tag_of(c, self.ours) <= tag)
            ]
            if not candidates:
                return None
        consts = {
            key: const
            for key, raw in v.properties.items()
            if (const := normalise(raw, self.vendor).enum) is not None and len(const) == 1
        }
        if consts:  # the member agreeing on the most constants (`type`, and `name` for some tools)
            scores = [
                sum(
                    key in candidate.properties
                    and normalise(candidate.properties[key], self.ours).enum == const
                    for key, const in consts.items()
                )
                for candidate in candidates
            ]
            best = max(scores)
            if best:
                return candidates[scores.index(best)]
        same_kind = [c for c in candidates if _kind(c) == _kind(v)]
        if not same_kind:
            return None
        if len(same_kind) == 1:
            return same_kind[0]
        return max(same_kind, key=lambda c: sum(ok for _, ok, _ in self._shape(v, c, "", 0, ())) if c else 0)

    def _mismatch(self, v: Node, o: Node, v_required: bool, o_required: bool) -> str:
        v_types, o_types = v.types - {"null"}, o.types - {"null"}
        if "any" not in v_types and "any" not in o_types:
            if self.where == "request":
                lacking = {
                    t for t in v_types if not (t in o_types or (t == "integer" and "number" in o_types))
                }
                if lacking:
                    return f"type: the vendor accepts {_names(v_types)}, we accept {_names(o_types)}"
            else:
                extra = {t for t in o_types if not (t in v_types or (t == "integer" and "number" in v_types))}
                if extra:
                    return f"type: we send {_names(o_types)}, the vendor describes {_names(v_types)}"
        if self.where == "request" and o_required and not v_required:
            return "required: we require it, the vendor doesn't"
        if self.where == "response" and v_required and not o_required:
            return "required: the vendor always sends it, we may not"
        if self.where == "request" and v.enum is not None and o.enum is not None and v.enum - o.enum:
            return f"enum: we reject {sorted(map(str, v.enum - o.enum))}"
        if self.where == "response" and v.enum is not None:
            if o.enum is None and o_types <= {"string"} and o_types:
                return "enum: we describe any string, the vendor an enum"
            if o.enum is not None and o.enum - v.enum:
                return f"enum: we may send {sorted(map(str, o.enum - v.enum))}, unknown to the vendor"
        return ""


def tag_of(node: Node, doc: Doc) -> set[Any] | None:
    """The values of a member's `type` tag, if it has one."""
    return normalise(node.properties["type"], doc).enum if "type" in node.properties else None


def _kind(node: Node) -> str:
    types = node.types - {"null"}
    if node.properties or types == {"object"}:
        return "object"
    return "array" if "array" in types else ",".join(sorted(types))


def _label(node: Node, index: int) -> str:
    for key, raw in node.properties.items():
        if isinstance(raw, dict) and (
            "const" in raw or (isinstance(raw.get("enum"), list) and len(raw["enum"]) == 1)
        ):
            value = raw.get("const", (raw.get("enum") or [None])[0])
            return f"{key}={value}"
    return node.name or _kind(node) or str(index)


def _names(types: set[str]) -> str:
    return "/".join(sorted(types)) or "nothing"


# -- endpoints ----------------------------------------------------------------------------------


def _normal(path: str) -> str:
    out, depth = [], 0
    for char in path:
        if char == "{":
            depth += 1
            if depth == 1:
                out.append("{}")
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def vendor_path(api_paths: dict[str, dict[str, str]], ours: str) -> tuple[str, str] | None:
    """(api, vendor path) for one of our paths, or None for our own (native) endpoints.
    OpenAI's spec has no `/v1` prefix; Google's has `/{api_version}` (OGX's `/v1beta`, `/v1alpha`, `/v1`);
    Anthropic's has `/v1`.
    A path both OpenAI and Anthropic describe (`/v1/models`, `/v1/files`) is OpenAI's at OGX."""
    key = _normal(ours)
    if key.startswith("/v1/") and key[3:] in api_paths["openai"]:
        return "openai", api_paths["openai"][key[3:]]
    if key in api_paths["anthropic"]:
        return "anthropic", api_paths["anthropic"][key]
    version, _, rest = key[1:].partition("/")
    if version in GOOGLE_VERSIONS and "/{}/" + rest in api_paths["google"]:
        return "google", api_paths["google"]["/{}/" + rest]
    return None


def _json_schema(operation: dict[str, Any], doc: Doc, response: bool) -> Any:
    if response:
        responses = operation.get("responses") or {}
        code = next((c for c in ("200", "201", 200, 201) if c in responses), None)
        target = doc.resolve(responses[code])[0] if code is not None else {}
    else:
        target = doc.resolve(operation.get("requestBody") or {})[0]
    content = target.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), {}) if content else {}
    return media.get("schema") if isinstance(media, dict) else None


def compare(
    ours: dict[str, Any], vendors: dict[str, dict[str, Any]], max_depth: int = MAX_DEPTH
) -> list[Check]:
    our_doc = Doc(ours)
    docs = {api: Doc(spec) for api, spec in vendors.items()}
    api_paths = {
        api: {_normal(p): p for p in spec.get("paths", {}) if "?" not in p} for api, spec in vendors.items()
    }
    for api in SPEC_FILES:
        api_paths.setdefault(api, {})
    checks: list[Check] = []
    for path, item in sorted(ours.get("paths", {}).items()):
        mapped = vendor_path(api_paths, path)
        if mapped is None:
            continue
        api, theirs = mapped
        vendor_item = vendors[api]["paths"][theirs]
        for method in METHODS:
            if method not in item or method not in vendor_item or ALIAS in item[method]:
                continue  # an alias repeats an operation counted at its own path
            endpoint = f"{method.upper()} {path}"
            for where in ("request", "response"):
                v_schema = _json_schema(vendor_item[method], docs[api], where == "response")
                if v_schema is None:
                    continue
                o_schema = _json_schema(item[method], our_doc, where == "response")
                comparison = Comparison(docs[api], our_doc, where, max_depth)
                for prop, ok, reason in comparison.body(v_schema, o_schema):
                    checks.append(Check(api, endpoint, where, prop, ok, reason))
    return checks


def summarise(checks: list[Check]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for api in SPEC_FILES:
        mine = [c for c in checks if c.api == api]
        if not mine:
            continue
        matched = sum(c.ok for c in mine)
        summary[api] = {
            "endpoints": sorted({c.endpoint for c in mine}),
            "properties": len(mine),
            "matched": matched,
            "percent": round(100 * matched / len(mine), 2),
        }
    return summary


# -- inputs and CLI -----------------------------------------------------------------------------


def load_specs(folder: Path) -> dict[str, dict[str, Any]]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    specs = {}
    for api, filename in SPEC_FILES.items():
        text = (folder / filename).read_text()
        specs[api] = (
            yaml.load(text, Loader=loader) if filename.endswith((".yml", ".yaml")) else json.loads(text)
        )
    return specs


def served_openapi(url: str | None = None) -> dict[str, Any]:
    """Our OpenAPI document: fetched from a running server, or from the app built in-process
    with an empty run config (no provider is needed to describe the routes)."""
    if url:
        import httpx

        return httpx.get(url.rstrip("/") + "/openapi.json", timeout=30).raise_for_status().json()
    from ogx.config import parse_run_config
    from ogx.plugins import PluginManager
    from ogx.server.app import create_app

    config = parse_run_config(
        {"version": 2, "name": "conformance", "storage": {"url": "sqlite:///:memory:"}}, environ={}
    )
    return create_app(config, plugins=PluginManager(load_entry_points=False, environ={})).openapi()


def check_baseline(summary: dict[str, dict[str, Any]], baseline: dict[str, float]) -> list[str]:
    """Every API in the baseline must be served and at least as conformant as recorded."""
    problems = []
    for api, floor in baseline.items():
        percent = summary.get(api, {}).get("percent", 0.0)
        if percent + 1e-9 < float(floor):
            problems.append(f"{api}: {percent:.2f}% is below the baseline {float(floor):.2f}%")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", help="a running server's base URL (default: build the app in-process)")
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="folder of the vendor specs")
    parser.add_argument("--verbose", action="store_true", help="list every mismatch")
    parser.add_argument("--json", type=Path, help="write the full report as JSON here")
    parser.add_argument("--check", type=Path, help="a baseline JSON file {api: percent}; exit 1 if any drops")
    parser.add_argument("--max-depth", type=int, default=MAX_DEPTH)
    args = parser.parse_args(argv)

    checks = compare(served_openapi(args.url), load_specs(args.specs), args.max_depth)
    summary = summarise(checks)
    for api, row in summary.items():
        print(
            f"{api:10} {row['percent']:6.2f}%  {row['matched']}/{row['properties']} properties on {len(row['endpoints'])} endpoints"
        )
        if args.verbose:
            for check in checks:
                if check.api == api and not check.ok:
                    print(f"    {check.endpoint} {check.where}: {check.path or '(body)'}: {check.reason}")
    if args.json:
        report = {"summary": summary, "mismatches": [asdict(c) for c in checks if not c.ok]}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.check:
        problems = check_baseline(summary, json.loads(args.check.read_text()))
        for problem in problems:
            print(f"FAIL {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
