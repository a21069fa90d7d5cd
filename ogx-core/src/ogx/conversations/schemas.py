"""OpenAI's own schemas for conversation items (vendored by `scripts/vendor_conversation_schemas.py`,
names prefixed `OpenAI`): input items are validated against them, and `/openapi.json` documents
them, so what we accept and what we describe are the vendor's exactly."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ogx.validation import format_loc
from ogx_api import InvalidRequest

if TYPE_CHECKING:  # jsonschema is imported with the first validation (~30 ms and 2 MiB at start-up)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_BASE = "urn:ogx:openai"
_MAX_MESSAGE = 300


@functools.cache
def components() -> dict[str, Any]:
    """The vendored schemas, by component name."""
    return json.loads((Path(__file__).parent / "openai_schemas.json").read_text())


def ref(name: str) -> dict[str, str]:
    """A `$ref` to vendored schema `name` (without its prefix), for OpenAPI documents."""
    return {"$ref": f"#/components/schemas/OpenAI{name}"}


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"{_BASE}#/components/schemas/{name}"}


def _assistant_message() -> dict[str, Any]:
    """What OpenAI's API accepts beyond its spec (and its guides send back): an assistant message
    without id or status whose parts may be earlier output, `output_text` with or without
    `annotations`/`logprobs`, or `refusal`."""
    output_text = {
        "type": "object",
        "properties": {
            "type": {"enum": ["output_text"]},
            "text": {"type": "string"},
            "annotations": {"type": "array", "items": _schema_ref("OpenAIAnnotation")},
            "logprobs": {"type": "array", "items": _schema_ref("OpenAILogProb")},
        },
        "required": ["type", "text"],
    }
    parts = [output_text, _schema_ref("OpenAIRefusalContent"), _schema_ref("OpenAIInputContent")]
    return {
        "type": "object",
        "properties": {
            "type": {"enum": ["message"]},
            "role": {"enum": ["assistant"]},
            "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"oneOf": parts}}]},
            "phase": {},
        },
        "required": ["role", "content"],
    }


@functools.cache
def _validators() -> dict[str, Draft202012Validator]:
    """Item type → its input schema's validator; messages have several, keyed by schema name."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    schemas = components()
    resource = DRAFT202012.create_resource({"components": {"schemas": schemas}})
    registry: Registry = Registry().with_resource(_BASE, resource)
    members = [m["$ref"].rsplit("/", 1)[-1] for m in schemas["OpenAIInputItem"]["oneOf"]]
    members += [m["$ref"].rsplit("/", 1)[-1] for m in schemas["OpenAIItem"]["oneOf"]]
    validators: dict[str, Draft202012Validator] = {}
    for name in members:
        if name == "OpenAIItem":
            continue
        validator = Draft202012Validator(_schema_ref(name), registry=registry)
        type_schema = _resolve(schemas, schemas[name]).get("properties", {}).get("type", {})
        for item_type in _constants(schemas, type_schema):
            validators[name if item_type == "message" else item_type] = validator
    validators["message"] = Draft202012Validator(_assistant_message(), registry=registry)
    return validators


def item_types() -> list[str]:
    return sorted(name for name in _validators() if not name.startswith("OpenAI"))


def _validator_for(item: dict[str, Any], item_type: str) -> Draft202012Validator | None:
    validators = _validators()
    if item_type != "message":
        return validators.get(item_type)
    # The message's own fields say which of OpenAI's message shapes it is.
    if item.get("role") == "assistant":
        if "id" in item and "status" in item:
            return validators["OpenAIOutputMessage"]
        return validators["message"]  # the lenient assistant message
    return validators["OpenAIInputMessage" if "status" in item else "OpenAIEasyInputMessage"]


def validate_input_items(items: Sequence[Any], param: str) -> None:
    """Raise `InvalidRequest` naming the first offending field, e.g. `items[2].content[0].text`."""
    for index, item in enumerate(items):
        where: list[str | int] = [param, index]
        if not isinstance(item, dict):
            raise _invalid(where, "must be an object (an input item)")
        item_type = item_type_of(item)
        if item_type is None:
            raise _invalid([*where, "type"], "required but missing")
        validator = _validator_for(item, item_type) if isinstance(item_type, str) else None
        if validator is None:
            raise _invalid(
                [*where, "type"],
                f"unknown item type {str(item_type)[:64]!r}; one of: {', '.join(item_types())}",
            )
        errors = [_deepest(e) for e in validator.iter_errors(item)]
        if errors:
            # The deepest problem is the one to fix; a wrong `type` tag only when there's no other.
            error = max(errors, key=lambda e: (not _wrong_type_tag(e), len(e.absolute_path)))
            missing = _missing_field(error)
            if missing is not None:
                raise _invalid([*where, *error.absolute_path, missing], "required but missing")
            raise _invalid([*where, *error.absolute_path], _describe(error))


def item_type_of(item: dict[str, Any]) -> Any:
    """An item's `type`; it may be left out of a message (`role` set) and an item reference."""
    if "type" in item and item["type"] is not None:
        return item["type"]
    if "role" in item:
        return "message"
    if "id" in item:
        return "item_reference"
    return None


def _deepest(error: ValidationError) -> ValidationError:
    """Into a failed union (`oneOf`/`anyOf`): the variants whose `type` matched say what is
    wrong; when none matched, the `type` itself is."""
    from jsonschema.exceptions import ValidationError

    while error.context:
        variants: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            variants.setdefault(sub.relative_schema_path[0], []).append(sub)
        matched = [e for errors in variants.values() if not any(map(_wrong_type_tag, errors)) for e in errors]
        if not matched:
            tags = sorted({v for e in error.context for v in _tag_values(e)})
            if tags and isinstance(error.instance, dict):
                return ValidationError(
                    f"{_short(error.instance.get('type'))} is not one of: {', '.join(tags)}",
                    validator="enum",
                    path=[*error.absolute_path, "type"],
                )
            return error
        error = max(matched, key=lambda e: len(e.absolute_path))
    return error


def _wrong_type_tag(error: ValidationError) -> bool:
    return error.validator in ("enum", "const") and list(error.relative_path)[-1:] == ["type"]


def _tag_values(error: ValidationError) -> list[str]:
    if not _wrong_type_tag(error):
        return []
    value = error.validator_value
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 64 else text[:63] + "…"


def _missing_field(error: ValidationError) -> str | None:
    if error.validator != "required" or not isinstance(error.instance, dict):
        return None
    return next((name for name in error.validator_value if name not in error.instance), None)


def _describe(error: ValidationError) -> str:
    message = error.message
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def _invalid(where: list[str | int], message: str) -> InvalidRequest:
    path = format_loc(where)
    return InvalidRequest(f"{path}: {message}", param=path, code="invalid_value")


def _resolve(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:  # the resources extend a base item: merge their properties
        merged: dict[str, Any] = {"properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(schemas, part).get("properties", {}))
        return merged
    return schema


def _constants(schemas: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    schema = _resolve(schemas, schema)
    if "enum" in schema:
        return [v for v in schema["enum"] if isinstance(v, str)]
    if "const" in schema:
        return [schema["const"]]
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    return [c for v in variants for c in _constants(schemas, v)]
