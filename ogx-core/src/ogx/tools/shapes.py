"""The JSON the tools endpoints answer with, in the shapes of the best-known implementation
(llama-stack's `ToolGroup`, `ToolDef`, `ToolInvocationResult`, `Connector`), as TypedDicts for
the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any, Literal

from typing_extensions import TypedDict

from ogx.config.schema import ConnectorConfig
from ogx_api.redaction import redact_url
from ogx_api.tools import ImageContent, TextContent, ToolDef, ToolResult


class McpEndpointObject(TypedDict, total=False):
    uri: str
    transport: str


class ToolGroupObject(TypedDict):
    identifier: str
    provider_resource_id: str
    provider_id: str
    type: Literal["tool_group"]
    mcp_endpoint: McpEndpointObject | None
    args: dict[str, Any] | None


class ToolDefObject(TypedDict):
    toolgroup_id: str | None
    name: str
    description: str | None
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    metadata: dict[str, Any] | None


class TextItem(TypedDict):
    type: Literal["text"]
    text: str


class ImageData(TypedDict):
    data: str


class ImageItem(TypedDict):
    type: Literal["image"]
    image: ImageData
    mime_type: str


class ToolInvocationResultObject(TypedDict):
    content: list[TextItem | ImageItem]
    error_message: str | None
    error_code: int | None
    metadata: dict[str, Any] | None


class ConnectorObject(TypedDict):
    connector_type: Literal["mcp"]
    connector_id: str
    url: str
    server_label: str | None
    server_name: str | None
    server_description: str | None
    server_version: str | None


class ToolGroupList(TypedDict):
    data: list[ToolGroupObject]


class ToolDefList(TypedDict):
    data: list[ToolDefObject]


class ConnectorList(TypedDict):
    data: list[ConnectorObject]


def tool_object(tool: ToolDef, toolgroup_id: str | None) -> dict[str, Any]:
    metadata = dict(tool.metadata)
    if tool.title:
        metadata["title"] = tool.title
    if tool.annotations:
        metadata["annotations"] = tool.annotations
    return {
        "toolgroup_id": toolgroup_id,
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.input_schema,
        "output_schema": tool.output_schema,
        "metadata": metadata or None,
    }


def invocation_result(result: ToolResult) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for item in result.content:
        if isinstance(item, TextContent):
            content.append({"type": "text", "text": item.text})
        elif isinstance(item, ImageContent):
            content.append({"type": "image", "image": {"data": item.data}, "mime_type": item.mime_type})
        else:
            content.append({"type": "text", "text": json.dumps(item.value, ensure_ascii=False, default=str)})
    metadata = dict(result.metadata)
    if result.structured_content is not None:
        metadata["structured_content"] = result.structured_content
    return {
        "content": content,
        "error_message": result.as_text() if result.is_error else None,
        "error_code": 1 if result.is_error else None,
        "metadata": metadata or None,
    }


def connector_object(connector: ConnectorConfig) -> dict[str, Any]:
    return {
        "connector_type": "mcp",
        "connector_id": connector.connector_id,
        "url": redact_url(connector.url),
        "server_label": connector.server_label,
        "server_name": None,
        "server_description": connector.description,
        "server_version": None,
    }
