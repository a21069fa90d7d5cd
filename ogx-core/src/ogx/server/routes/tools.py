"""Native tool endpoints: tool groups, tools, tool invocation, and MCP connectors (v1beta)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ogx.deferred import DeferredModel
from ogx.server.body import parse_body, request_body, response_schema
from ogx.server.errors import json_response
from ogx.server.services import owner, services
from ogx.tools import RegisterToolGroupRequest
from ogx.tools.shapes import (
    ConnectorList,
    ConnectorObject,
    ToolDefList,
    ToolDefObject,
    ToolGroupList,
    ToolGroupObject,
    ToolInvocationResultObject,
    invocation_result,
)

router = APIRouter(tags=["tools"])


class InvokeToolRequest(DeferredModel):
    """The body of `POST /v1/tool-runtime/invoke`."""

    model_config = ConfigDict(extra="forbid")

    tool_name: str = Field(min_length=1)
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")


@router.post(
    "/v1/toolgroups",
    openapi_extra=request_body(RegisterToolGroupRequest),
    responses=response_schema("ToolGroup", ToolGroupObject),
    summary="Register a tool group (an MCP server, or a built-in runtime)",
)
async def register_tool_group(request: Request) -> Response:
    body = await parse_body(request, RegisterToolGroupRequest)
    group = await services(request).tools.register(body, owner(request))
    return json_response(group.to_api())


@router.get(
    "/v1/toolgroups",
    responses=response_schema("ListToolGroupsResponse", ToolGroupList),
    summary="List tool groups",
)
async def list_tool_groups(request: Request) -> Response:
    groups = await services(request).tools.list_groups(owner(request))
    return json_response({"data": [group.to_api() for group in groups]})


@router.get(
    "/v1/toolgroups/{toolgroup_id}",
    responses=response_schema("ToolGroup", ToolGroupObject),
    summary="Get a tool group",
)
async def get_tool_group(request: Request, toolgroup_id: str) -> Response:
    group = await services(request).tools.get_group(toolgroup_id, owner(request))
    return json_response(group.to_api())


@router.delete("/v1/toolgroups/{toolgroup_id}", status_code=204, summary="Unregister a tool group")
async def unregister_tool_group(request: Request, toolgroup_id: str) -> Response:
    await services(request).tools.unregister(toolgroup_id, owner(request))
    return Response(status_code=204)


@router.get(
    "/v1/tools",
    responses=response_schema("ListToolDefsResponse", ToolDefList),
    summary="List the tools of every tool group, or of one (`toolgroup_id`)",
)
async def list_tools(request: Request, toolgroup_id: str | None = None) -> Response:
    tools = await services(request).tools.list_tools(owner(request), toolgroup_id)
    return json_response({"data": tools})


@router.get(
    "/v1/tools/{tool_name:path}", responses=response_schema("ToolDef", ToolDefObject), summary="Get a tool"
)
async def get_tool(request: Request, tool_name: str) -> Response:
    return json_response(await services(request).tools.get_tool(tool_name, owner(request)))


@router.post(
    "/v1/tool-runtime/invoke",
    openapi_extra=request_body(InvokeToolRequest),
    responses=response_schema("ToolInvocationResult", ToolInvocationResultObject),
    summary="Run a tool; a tool's own failure is a result with `error_message`, not an HTTP error",
)
async def invoke_tool(request: Request) -> Response:
    body = await parse_body(request, InvokeToolRequest)
    result = await services(request).tools.invoke(body.tool_name, body.kwargs, owner(request))
    return json_response(invocation_result(result))


@router.get(
    "/v1beta/connectors",
    responses=response_schema("ListConnectorsResponse", ConnectorList),
    summary="List connectors",
)
async def list_connectors(request: Request) -> Response:
    return json_response({"data": services(request).tools.list_connectors()})


@router.get(
    "/v1beta/connectors/{connector_id}",
    responses=response_schema("Connector", ConnectorObject),
    summary="Get a connector",
)
async def get_connector(request: Request, connector_id: str) -> Response:
    return json_response(services(request).tools.get_connector(connector_id))


@router.get(
    "/v1beta/connectors/{connector_id}/tools",
    responses=response_schema("ListToolDefsResponse", ToolDefList),
    summary="List a connector's tools",
)
async def list_connector_tools(request: Request, connector_id: str) -> Response:
    return json_response({"data": await services(request).tools.connector_tools(connector_id)})


@router.get(
    "/v1beta/connectors/{connector_id}/tools/{tool_name:path}",
    responses=response_schema("ToolDef", ToolDefObject),
    summary="Get one of a connector's tools",
)
async def get_connector_tool(request: Request, connector_id: str, tool_name: str) -> Response:
    return json_response(await services(request).tools.connector_tool(connector_id, tool_name))
