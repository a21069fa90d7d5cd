"""The conformance report: our served OpenAPI document against the vendors' specs must not fall
below the committed baseline, and the comparison itself scores what it should."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scripts" / "conformance_baseline.json"


def _load_report_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "conformance_report", ROOT / "scripts" / "conformance_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load_report_module()


@pytest.fixture(scope="module")
def summary() -> dict[str, dict[str, Any]]:
    return report.summarise(report.compare(report.served_openapi(), report.load_specs(report.DEFAULT_SPECS)))


def test_conformance_does_not_drop_below_the_baseline(summary):
    baseline = json.loads(BASELINE.read_text())
    problems = report.check_baseline(summary, baseline)
    assert not problems, (
        "conformance with the vendor specs dropped; run `python scripts/conformance_report.py --verbose` "
        "to see the mismatches:\n" + "\n".join(problems)
    )


def test_every_served_vendor_api_has_a_baseline(summary):
    missing = sorted(set(summary) - set(json.loads(BASELINE.read_text())))
    assert not missing, (
        f"{missing} now served: record their percentage from `python scripts/conformance_report.py` "
        f"in {BASELINE.relative_to(ROOT)} so a drop fails CI"
    )


def test_the_served_apis_are_found(summary):
    assert "POST /v1/chat/completions" in summary["openai"]["endpoints"]
    assert "POST /v1beta/interactions" in summary["google"]["endpoints"]
    assert "POST /v1alpha/interactions" not in summary["google"]["endpoints"], "an alias is not counted twice"
    assert summary["google"]["percent"] >= 98.0


def test_the_cli_writes_json_and_fails_a_check_above_the_score(tmp_path, capsys):
    out, too_high = tmp_path / "report.json", tmp_path / "baseline.json"
    too_high.write_text(json.dumps({"google": 100.0}))
    assert report.main(["--json", str(out), "--check", str(too_high)]) == 1
    written = json.loads(out.read_text())
    assert written["summary"]["google"]["percent"] < 100
    assert any(m["api"] == "google" for m in written["mismatches"])
    assert "google" in capsys.readouterr().err


# -- the comparison on tiny schemas -------------------------------------------------------------


def _doc(
    request: dict[str, Any], response: dict[str, Any] | None = None, path: str = "/things"
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "requestBody": {"content": {"application/json": {"schema": request}}},
        "responses": {"200": {"content": {"application/json": {"schema": response or {"type": "object"}}}}},
    }
    return {"paths": {path: {"post": operation}}, "components": {"schemas": {}}}


VENDOR = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "color": {"type": "string", "enum": ["red", "green"]},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}}}},
    },
}


def _score(
    ours: dict[str, Any], vendor: dict[str, Any] = VENDOR, where: str = "request"
) -> tuple[float, list[Any]]:
    """The percentage of vendor properties matched, with our schema as the request (or response)."""
    if where == "request":
        checks = report.compare(_doc(ours, path="/v1/things"), {"openai": _doc(vendor)})
    else:
        ours_doc = _doc({"type": "object"}, ours, path="/v1/things")
        checks = report.compare(ours_doc, {"openai": _doc({"type": "object"}, vendor)})
    checks = [c for c in checks if c.where == where]
    return 100 * sum(c.ok for c in checks) / len(checks), [c for c in checks if not c.ok]


def test_an_identical_schema_scores_100():
    score, bad = _score(VENDOR)
    assert score == 100 and not bad


def test_a_missing_property_lowers_the_score():
    ours = {**VENDOR, "properties": {k: v for k, v in VENDOR["properties"].items() if k != "size"}}
    score, bad = _score(ours)
    assert score < 100
    assert [(c.path, c.reason) for c in bad] == [("size", "missing")]


def test_a_missing_object_counts_its_nested_properties_missing_too():
    ours = {**VENDOR, "properties": {k: v for k, v in VENDOR["properties"].items() if k != "tags"}}
    _, bad = _score(ours)
    assert [c.path for c in bad] == ["tags", "tags[].label"]


def test_a_wrong_type_lowers_the_score():
    ours = {**VENDOR, "properties": {**VENDOR["properties"], "size": {"type": "string"}}}
    score, bad = _score(ours)
    assert score < 100 and bad[0].path == "size" and bad[0].reason.startswith("type")


def test_a_missing_enum_value_lowers_the_score():
    ours = {**VENDOR, "properties": {**VENDOR["properties"], "color": {"type": "string", "enum": ["red"]}}}
    score, bad = _score(ours)
    assert score < 100 and bad[0].path == "color" and "green" in bad[0].reason


def test_requests_may_accept_more_but_not_require_more():
    wider = {**VENDOR, "properties": {**VENDOR["properties"], "size": {"type": "number"}}}
    assert _score(wider)[0] == 100, "a number field accepts the vendor's integers"
    stricter = {**VENDOR, "required": ["name", "size"]}
    score, bad = _score(stricter)
    assert score < 100 and bad[0].reason.startswith("required")


def test_responses_must_send_what_the_vendor_requires_and_only_its_enum_values():
    vendor = {**VENDOR, "required": ["name", "color"]}
    optional_color = {**VENDOR, "required": ["name"]}
    assert _score(optional_color, vendor, "response")[1][0].path == "color"
    extra_value = {
        **vendor,
        "properties": {**VENDOR["properties"], "color": {"type": "string", "enum": ["red", "green", "blue"]}},
    }
    assert "blue" in _score(extra_value, vendor, "response")[1][0].reason
    open_string = {**vendor, "properties": {**VENDOR["properties"], "color": {"type": "string"}}}
    assert _score(open_string, vendor, "response")[1][0].reason.startswith("enum")


def test_refs_allof_nullable_and_read_only_are_understood():
    vendor = {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"type": "object", "properties": {"id": {"type": "string", "readOnly": True}}},
        ]
    }
    vendor_doc = _doc(vendor)
    vendor_doc["components"]["schemas"]["Base"] = {
        "type": "object",
        "properties": {"name": {"type": "string", "nullable": True}},
    }
    ours = _doc(
        {"type": "object", "properties": {"name": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
        path="/v1/things",
    )
    checks = [c for c in report.compare(ours, {"openai": vendor_doc}) if c.where == "request"]
    assert [(c.path, c.ok) for c in checks] == [("name", True)], "readOnly `id` is not asked of requests"


def test_union_members_are_paired_by_their_constant_property():
    def part(kind: str, field: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"type": {"const": kind}, field: {"type": "string"}}}

    vendor = {
        "type": "object",
        "properties": {
            "parts": {"type": "array", "items": {"oneOf": [part("text", "text"), part("image", "url")]}}
        },
    }
    ours = {
        "type": "object",
        "properties": {
            "parts": {"type": "array", "items": {"anyOf": [part("image", "url"), part("text", "body")]}}
        },
    }
    score, bad = _score(ours, vendor)
    assert [c.path for c in bad] == ["parts[]<type=text>.text"], "the text part pairs with our text part"
    assert 0 < score < 100


def test_union_members_are_paired_on_every_constant_they_share():
    def tool(name: str, kind: str, extra: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"name": {"const": name}, "type": {"const": kind}, extra: {"type": "string"}},
        }

    vendor = {
        "type": "object",
        "properties": {
            "tools": {
                "type": "array",
                "items": {"oneOf": [tool("web", "web_1", "a"), tool("web", "web_2", "b")]},
            }
        },
    }
    score, bad = _score(vendor, vendor)
    assert score == 100 and not bad, "`web_2` pairs with our `web_2`, not the first `web` tool"


def test_paths_map_to_each_vendors_prefix():
    paths = {
        "openai": {
            "/chat/completions": "/chat/completions",
            "/models": "/models",
            "/files/{}": "/files/{file_id}",
        },
        "anthropic": {"/v1/messages": "/v1/messages", "/v1/models": "/v1/models"},
        "google": {"/{}/interactions/{}": "/{api_version}/interactions/{id}"},
    }
    assert report.vendor_path(paths, "/v1/chat/completions") == ("openai", "/chat/completions")
    assert report.vendor_path(paths, "/v1/models") == ("openai", "/models"), "OGX's /v1/models is OpenAI's"
    assert report.vendor_path(paths, "/v1/files/{id}") == ("openai", "/files/{file_id}")
    assert report.vendor_path(paths, "/v1/messages") == ("anthropic", "/v1/messages")
    for version in ("v1beta", "v1alpha"):
        assert report.vendor_path(paths, f"/{version}/interactions/{{id}}") == (
            "google",
            "/{api_version}/interactions/{id}",
        )
    assert report.vendor_path(paths, "/v1beta/connectors/{id}") is None
    assert report.vendor_path(paths, "/v1/health") is None


def test_check_baseline_reports_drops_and_missing_apis():
    summary = {"openai": {"percent": 90.0}}
    assert report.check_baseline(summary, {"openai": 90.0}) == []
    assert report.check_baseline(summary, {"openai": 90.5})
    assert report.check_baseline(summary, {"google": 50.0}), "an API that is no longer served has dropped"
