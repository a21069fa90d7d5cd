"""The tool-runtime types: endpoints keep their secret secret and refuse reserved headers;
results serialise and read as text for a model."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from ogx_api.tools import ImageContent, JsonContent, McpEndpoint, TextContent, ToolDef, ToolResult


def test_authorization_is_a_secret() -> None:
    endpoint = McpEndpoint(uri="https://mcp.example.com/mcp", authorization=SecretStr("tok-123"))
    assert "tok-123" not in repr(endpoint)
    assert "tok-123" not in endpoint.model_dump_json()
    assert endpoint.authorization_header() == "Bearer tok-123"


@pytest.mark.parametrize(
    ("value", "header"),
    [("abc", "Bearer abc"), ("Bearer abc", "Bearer abc"), ("Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz")],
)
def test_authorization_header_keeps_an_explicit_scheme(value: str, header: str) -> None:
    assert McpEndpoint(uri="https://x", authorization=SecretStr(value)).authorization_header() == header


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "Host", "Cookie", "Proxy-Foo", "Mcp-Session-Id"]
)
def test_reserved_headers_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="may not be set"):
        McpEndpoint(uri="https://x", headers={name: "v"})


def test_authorization_header_refusal_points_at_the_field() -> None:
    with pytest.raises(ValidationError, match="use the `authorization` field"):
        McpEndpoint(uri="https://x", headers={"Authorization": "Bearer t"})


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a valid HTTP header"):
        McpEndpoint(uri="https://x", headers={"X-A": "v\r\nX-Evil: 1"})


def test_with_headers_merges_case_insensitively_and_keeps_the_secret() -> None:
    endpoint = McpEndpoint(
        uri="https://x", headers={"X-Tenant": "a", "X-Keep": "k"}, authorization=SecretStr("server")
    )
    merged = endpoint.with_headers({"x-tenant": "b"})
    assert merged.headers == {"X-Keep": "k", "x-tenant": "b"}
    assert merged.authorization_header() == "Bearer server"
    assert (
        endpoint.with_headers(authorization=SecretStr("request")).authorization_header() == "Bearer request"
    )
    with pytest.raises(ValidationError):
        endpoint.with_headers({"Authorization": "x"})


def test_result_as_text_for_a_model() -> None:
    result = ToolResult(
        content=[
            TextContent(text="line one"),
            ImageContent(data="AAAA", mime_type="image/png"),
            JsonContent(kind="resource", value={"uri": "file:///a"}),
        ]
    )
    assert result.as_text() == 'line one\n[image: image/png]\n{"uri": "file:///a"}'
    assert ToolResult(structured_content={"a": 1}).as_text() == '{"a": 1}'
    error = ToolResult.error("no such city")
    assert error.is_error and error.as_text() == "no such city"


def test_result_round_trips_with_its_content_types() -> None:
    result = ToolResult(
        content=[
            TextContent(text="t"),
            ImageContent(data="AAAA", mime_type="image/png"),
            JsonContent(kind="audio", value={"data": "x"}),
        ],
        structured_content={"k": [1, 2]},
    )
    again = ToolResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert [type(item) for item in again.content] == [TextContent, ImageContent, JsonContent]


def test_tool_def_defaults_to_an_empty_object_schema() -> None:
    assert ToolDef(name="t").input_schema == {"type": "object", "properties": {}}
    with pytest.raises(ValidationError):
        ToolDef(name="")
