#!/usr/bin/env python
"""Generate the package `ogx/responses/kinds/`: pydantic models of the Responses API's tools, tool choices
and input items that OGX parses but does not run (computer use, web search, code interpreter,
image generation, shells, apply_patch, custom tools, tool search, namespaces, prompt templates,
context management), straight from OpenAI's spec, so a request that uses them is accepted as
OpenAI accepts it and then refused with a 400 naming the kind.

    python scripts/gen_response_kinds.py [--spec ../shared/specs/openai-spec-2.3.0.yml] [--out DIR]
"""

from __future__ import annotations

import argparse
import keyword
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "ogx-core" / "src" / "ogx" / "responses" / "kinds"
TOOLS = [
    "ComputerTool",
    "ComputerUsePreviewTool",
    "WebSearchTool",
    "WebSearchPreviewTool",
    "CodeInterpreterTool",
    "ImageGenTool",
    "LocalShellToolParam",
    "FunctionShellToolParam",
    "CustomToolParam",
    "NamespaceToolParam",
    "ToolSearchToolParam",
    "ApplyPatchToolParam",
]
ITEMS = [
    "ComputerToolCall",
    "ComputerCallOutputItemParam",
    "WebSearchToolCall",
    "ToolSearchCallItemParam",
    "ToolSearchOutputItemParam",
    "ImageGenToolCall",
    "CodeInterpreterToolCall",
    "LocalShellToolCall",
    "LocalShellToolCallOutput",
    "FunctionShellCallItemParam",
    "FunctionShellCallOutputItemParam",
    "ApplyPatchToolCallItemParam",
    "ApplyPatchToolCallOutputItemParam",
    "CustomToolCallOutput",
    "CustomToolCall",
]
CHOICES = ["ToolChoiceCustom", "SpecificApplyPatchParam", "SpecificFunctionShellParam"]
# earlier output items OGX keeps in the context as they are sent back
EARLIER = ["ReasoningItem", "MCPToolCall", "MCPListTools", "FileSearchToolCall", "CompactionSummaryItemParam"]
OTHERS = ["Prompt", "ContextManagementParam", "Annotation", "LogProb", "MessagePhase"]
RESERVED = {"schema", "json", "copy", "dict", "validate", "construct", "fields", "model_config"}


class Generator:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas
        self.classes: dict[str, str] = {}  # class name -> source
        self.order: list[str] = []

    def class_name(self, name: str) -> str:
        name = re.sub(r"[^0-9A-Za-z]", "", name)
        return f"Responses{name.removeprefix('Response')}"

    def ref(self, name: str) -> str:
        cls = self.class_name(name)
        if cls not in self.classes:
            self.classes[cls] = ""  # reserve, for recursive schemas
            self.classes[cls] = (
                self.model(cls, self.schemas[name]) or f"{cls} = {self.expr(self.schemas[name], cls)}\n"
            )
            self.order.append(cls)
        return cls

    def expr(self, schema: dict[str, Any], hint: str) -> str:
        if "$ref" in schema:
            target = schema["$ref"].rsplit("/", 1)[-1]
            resolved = self.schemas[target]
            if self._is_model(resolved):
                return self.ref(target)
            return self.expr(resolved, self.class_name(target))
        union = schema.get("oneOf") or schema.get("anyOf")
        if union:
            parts = [self.expr(member, f"{hint}{i}") for i, member in enumerate(union)]
            return " | ".join(dict.fromkeys(parts))
        if "allOf" in schema or schema.get("properties"):
            cls = self.class_name(hint)
            if cls not in self.classes:
                self.classes[cls] = ""
                self.classes[cls] = self.model(cls, schema) or ""
                self.order.append(cls)
            return cls
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            return f"Literal[{', '.join(map(repr, values))}]" + (" | None" if None in schema["enum"] else "")
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.expr({**schema, "type": k}, hint) for k in kind)
        if kind == "array":
            return f"list[{self.expr(schema.get('items') or {}, hint + 'Item')}]"
        if kind == "object":
            extra = schema.get("additionalProperties")
            value = self.expr(extra, hint + "Value") if isinstance(extra, dict) and extra else "Any"
            return f"dict[str, {value}]"
        return {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}.get(
            kind, "Any"
        )

    def _is_model(self, schema: dict[str, Any]) -> bool:
        return bool(schema.get("properties")) or "allOf" in schema

    def _merged(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        properties = dict(schema.get("properties") or {})
        required = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            if "$ref" in part:
                part = self.schemas[part["$ref"].rsplit("/", 1)[-1]]
            sub_properties, sub_required = self._merged(part)
            properties.update(sub_properties)
            required |= sub_required
        return properties, required

    def model(self, cls: str, schema: dict[str, Any]) -> str | None:
        if not self._is_model(schema):
            return None
        properties, required = self._merged(schema)
        lines = [f"class {cls}(Kind):"]
        for name, prop in properties.items():
            annotation = self.expr(prop, cls.removeprefix("Response") + _camel(name))
            field = name
            if keyword.iskeyword(name) or name in RESERVED:
                field = f"{name}_"
            if name in required:
                default = ""
            elif "default" in prop and isinstance(prop["default"], (str, int, float, bool)):
                default = f" = {prop['default']!r}"
            else:
                annotation = annotation if annotation.endswith("None") else f"{annotation} | None"
                default = " = None"
            if field != name:
                value = default.removeprefix(" = ") if default else "..."
                default = f" = Field({value}, alias={name!r})"
            lines.append(f"    {field}: {annotation}{default}")
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines) + "\n"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]", name) if part)


# One module per seam: each group's classes live in the module of the first group that needs them,
# and later modules import what they use from earlier ones.
MODULES = {
    "tools": (
        "The hosted tools and tool choices OGX parses but does not run; the service refuses each with a\n"
        "400 naming it.",
        (("UNSUPPORTED_TOOLS", TOOLS), ("UNSUPPORTED_CHOICES", CHOICES)),
    ),
    "items": (
        "Input items: the calls of hosted tools sent back (refused with a 400 naming them), and the\n"
        "earlier output items OGX produces and keeps in the context as they are sent back.",
        (("UNSUPPORTED_ITEMS", ITEMS), ("EARLIER_ITEMS", EARLIER)),
    ),
    "parts": (
        "Request and message parts: prompt templates and context management (refused), annotations,\n"
        "log probabilities and message phases.",
        (("OTHERS", OTHERS),),
    ),
}
HEADER = '"""Generated by `scripts/gen_response_kinds.py` from OpenAI\'s spec: do not edit.\n\n{doc}"""\n\n'
BASE = (
    HEADER.format(
        doc="The base of every generated model: extra fields kept, as OpenAI may add them; built on\n"
        "first use, like the rest of the Responses API's request models (`ogx.deferred`)."
    )
    + "from __future__ import annotations\n\nfrom pydantic import ConfigDict\n\n"
    + "from ogx.deferred import DeferredModel\n\n\n"
    + 'class Kind(DeferredModel):\n    model_config = ConfigDict(extra="allow", populate_by_name=True)\n'
)
INIT = (
    '"""Generated by `scripts/gen_response_kinds.py` from OpenAI\'s spec: do not edit.\n\n'
    "The Responses API's tools, tool choices and input items that OGX parses but does not run, as\n"
    "OpenAI describes them (the service refuses each with a 400 naming it), the earlier output items\n"
    'it keeps in the context as they are sent back, and the parts it shares with OpenAI."""\n\n'
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--spec", type=Path, default=ROOT.parent / "shared" / "specs" / "openai-spec-2.3.0.yml"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="the package directory to write")
    args = parser.parse_args(argv)
    spec = yaml.load(args.spec.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    generator = Generator(spec["components"]["schemas"])
    files = {"base.py": BASE}
    defined: dict[str, str] = {}  # class name -> module
    exports: list[tuple[str, str]] = []  # (module, name)
    for module, (doc, groups) in MODULES.items():
        first = len(generator.order)
        tuples = []
        for name, names in groups:
            classes = [generator.ref(n) for n in names]
            if name == "OTHERS":
                exports += [(module, cls) for cls in classes]
            else:
                tuples.append(f"{name} = ({', '.join(classes)},)")
                exports.append((module, name))
        own = [cls for cls in generator.order[first:] if generator.classes[cls]]
        body = "\n\n".join(generator.classes[cls] for cls in own)
        used = set(re.findall(r"\bResponses\w+", body)) - set(own)
        imports = "".join(
            f"from ogx.responses.kinds.{source} import {', '.join(sorted(n for n in used if defined[n] == source))}\n"
            for source in dict.fromkeys(defined[n] for n in sorted(used))
        )
        typing = ", ".join(t for t in ("Any", "Literal") if re.search(rf"\b{t}\b", body))
        files[f"{module}.py"] = (
            HEADER.format(doc=doc)
            + "from __future__ import annotations\n\n"
            + (f"from typing import {typing}\n\n" if typing else "")
            + ("from pydantic import Field\n\n" if "Field(" in body else "")
            + "from ogx.responses.kinds.base import Kind\n"
            + imports
            + f"\n\n{body}\n\n"
            + "\n".join(tuples)
            + "\n"
        )
        defined.update(dict.fromkeys(own, module))
    files["__init__.py"] = (
        INIT
        + "".join(
            f"from ogx.responses.kinds.{module} import {', '.join(n for m, n in exports if m == module)}\n"
            for module in MODULES
        )
        + f"\n__all__ = [{', '.join(repr(n) for _, n in sorted(exports, key=lambda e: e[1]))}]\n"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        args.out.joinpath(name).write_text(_ruff(source, OUT / name))  # the repo's ruff settings


def _ruff(source: str, path: Path) -> str:
    ruff = str(ROOT / ".venv" / "bin" / "ruff")
    fixed = subprocess.run(
        [ruff, "check", "--fix", "--select", "I,RUF022", "--stdin-filename", str(path), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return subprocess.run(
        [ruff, "format", "--stdin-filename", str(path), "-"],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


if __name__ == "__main__":
    main()
