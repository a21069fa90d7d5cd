#!/usr/bin/env python
"""Copy the Conversations API's schemas (and everything they reference) out of OpenAI's spec
into `ogx/conversations/openai_schemas.json`, each name prefixed with `OpenAI` (so they never
collide with our own components). The server validates conversation items against them and
documents them in `/openapi.json`, so both follow the vendor exactly.

    python scripts/vendor_conversation_schemas.py [path/to/openai-spec.yml]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "specs" / "openai-spec-2.3.0.yml"
TARGET = ROOT / "ogx-core" / "src" / "ogx" / "conversations" / "openai_schemas.json"
ROOTS = (
    "InputItem",
    "ConversationItem",
    "ConversationItemList",
    "ConversationResource",
    "DeletedConversationResource",
    "IncludeEnum",
    "CreateConversationBody",
    "UpdateConversationBody",
)
PREFIX = "OpenAI"
DROPPED_KEYS = {"x-oaiMeta", "example", "examples", "x-stainless-const", "x-oaiTypeLabel"}


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = schemas[name]
        pending.extend(_refs(schemas[name]))
    return {PREFIX + name: _clean(found[name]) for name in sorted(found)}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        cleaned = {k: _clean(v) for k, v in node.items() if k not in DROPPED_KEYS}
        declared = cleaned.get("properties")
        if isinstance(declared, dict) and isinstance(cleaned.get("required"), list):
            # The spec requires a few names it never declares (`request_id` on an MCP approval
            # response); the API does not ask for them.
            undeclared = [n for n in cleaned["required"] if n not in declared]
            if undeclared:
                print(f"  dropped undeclared required {undeclared}")
                cleaned["required"] = [n for n in cleaned["required"] if n in declared]
        if isinstance(cleaned.get("$ref"), str):
            cleaned["$ref"] = "#/components/schemas/" + PREFIX + cleaned["$ref"].rsplit("/", 1)[-1]
        return cleaned
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0]) if argv else SPEC
    spec = yaml.load(spec_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = closure(spec["components"]["schemas"], ROOTS)
    TARGET.write_text(json.dumps(schemas, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(schemas)} schemas → {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
