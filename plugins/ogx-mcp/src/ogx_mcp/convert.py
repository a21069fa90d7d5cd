"""MCP's types to the tool-runtime contract's: `Tool` → `ToolDef`, `CallToolResult` → `ToolResult`."""

from __future__ import annotations

from typing import Any

import mcp_types

from ogx_api.tools import ImageContent, JsonContent, TextContent, ToolContent, ToolDef, ToolResult


def tool_def(tool: mcp_types.Tool) -> ToolDef:
    metadata: dict[str, Any] = {}
    if tool.meta:
        metadata["_meta"] = tool.meta
    if tool.icons:
        metadata["icons"] = [
            icon.model_dump(mode="json", by_alias=True, exclude_none=True) for icon in tool.icons
        ]
    if tool.execution is not None:
        metadata["execution"] = tool.execution.model_dump(mode="json", by_alias=True, exclude_none=True)
    annotations = (
        tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True)
        if tool.annotations
        else None
    )
    return ToolDef(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=dict(tool.input_schema),
        output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
        annotations=annotations or None,
        metadata=metadata,
    )


def tool_result(result: mcp_types.CallToolResult) -> ToolResult:
    structured = result.structured_content
    return ToolResult(
        content=[content_item(block) for block in result.content],
        structured_content=structured if isinstance(structured, dict) else _wrap(structured),
        is_error=bool(result.is_error),
        metadata={"_meta": result.meta} if result.meta else {},
    )


def content_item(block: Any) -> ToolContent:
    if isinstance(block, mcp_types.TextContent):
        return TextContent(text=block.text)
    if isinstance(block, mcp_types.ImageContent):
        return ImageContent(data=block.data, mime_type=block.mime_type)
    kind = str(getattr(block, "type", type(block).__name__))
    value = (
        block.model_dump(mode="json", by_alias=True, exclude_none=True)
        if hasattr(block, "model_dump")
        else block
    )
    return JsonContent(kind=kind, value=value)


def _wrap(structured: Any) -> dict[str, Any] | None:
    # MCP requires an object; a server that sends anything else still gets its value relayed.
    return None if structured is None else {"result": structured}
