"""The tools service: tool groups, their tools, tool invocation, and MCP connectors.

Other APIs (the Responses loop) reach it as `services(request).tools`. Its stable interface:

- `await tools.check_url(url, param=None)`: checks a URL taken from a request against the run
  config's `server.outbound` policy; raises `InvalidRequest` (code `url_refused`) naming the
  rule that refused it.
- `tools.endpoint_for_connector(connector_id, owner) -> McpEndpoint`: the MCP server of a
  connector declared in the run config (URL, headers, credentials); `NotFound` listing the
  known ids. Connector URLs are trusted: they are not checked against `server.outbound`.
- `tools.mcp_runtime() -> ToolRuntimeProvider`: the configured `remote::model-context-protocol`
  runtime (open one `runtime.session()` per request); `InvalidRequest` when none is configured.

Invocations through `POST /v1/tool-runtime/invoke` use one long-lived `ToolSession` per
runtime, so a tool group's MCP session stays warm between requests (the runtime reopens a
connection that died). A request carrying `X-OGX-Provider-Data` (per-request MCP headers) gets
a session of its own instead, so its credentials never stay behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config.schema import ConnectorConfig, ToolGroupConfig
from ogx.tools.groups import RegisterToolGroupRequest, ToolGroup, ToolGroupStore, build_group, now_ns
from ogx.tools.shapes import connector_object, tool_object
from ogx_api import Conflict, InvalidRequest, NotFound, OGXError
from ogx_api.request_context import has_provider_data
from ogx_api.tools import McpEndpoint, ToolDef, ToolResult, ToolRuntimeProvider, ToolSession
from ogx_api.url_policy import UrlPolicy

logger = logging.getLogger(__name__)

MCP_PROVIDER_TYPE = "remote::model-context-protocol"
_MAX_NAMES_IN_MESSAGE = 30


class ToolsService:
    def __init__(
        self,
        engine: AsyncEngine,
        runtimes: Mapping[str, tuple[str, ToolRuntimeProvider]],
        *,
        declared: Sequence[ToolGroupConfig] = (),
        connectors: Sequence[ConnectorConfig] = (),
        outbound: UrlPolicy | None = None,
    ) -> None:
        """`runtimes` maps each tool_runtime provider id to its provider type and provider."""
        self._store = ToolGroupStore(engine)
        self._runtimes = {provider_id: impl for provider_id, (_, impl) in runtimes.items()}
        self._types = {provider_id: kind for provider_id, (kind, _) in runtimes.items()}
        self._outbound = outbound or UrlPolicy()
        self._declared = [
            build_group(
                RegisterToolGroupRequest.model_validate(g.model_dump()),
                owner=None,
                created_at_ns=0,
                declared=True,
            )
            for g in declared
        ]
        self._declared_ids = {group.id: group for group in self._declared}
        self._connectors = {c.connector_id: c for c in connectors}
        self._connector_endpoints = {c.connector_id: c.endpoint() for c in connectors}
        self._shared: dict[str, ToolSession] = {}
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        for provider_id, runtime in self._runtimes.items():
            self._shared[provider_id] = await self._stack.enter_async_context(runtime.session())

    async def close(self) -> None:
        self._shared.clear()
        await self._stack.aclose()

    # -- the interface for other APIs ---------------------------------------------------------

    async def check_url(self, url: str, *, param: str | None = None) -> None:
        await self._outbound.check(url, param=param)

    def endpoint_for_connector(self, connector_id: str, owner: str | None) -> McpEndpoint:
        endpoint = self._connector_endpoints.get(connector_id)
        if endpoint is None:
            known = ", ".join(sorted(self._connectors)) or "none are configured"
            raise NotFound(
                f"connector {connector_id!r} not found (connectors: {known})", param="connector_id"
            )
        return endpoint

    def mcp_runtime(self) -> ToolRuntimeProvider:
        for provider_id, kind in self._types.items():
            if kind == MCP_PROVIDER_TYPE:
                return self._runtimes[provider_id]
        raise InvalidRequest(
            f"MCP tools need a tool_runtime provider of type {MCP_PROVIDER_TYPE} in the run config "
            "(pip install ogx-mcp)"
        )

    # -- tool groups ------------------------------------------------------------------------

    async def register(self, request: RegisterToolGroupRequest, owner: str | None) -> ToolGroup:
        if request.provider_id not in self._runtimes:
            known = ", ".join(sorted(self._runtimes)) or "none are configured"
            raise InvalidRequest(
                f"no tool_runtime provider {request.provider_id!r} (tool_runtime providers: {known})",
                param="provider_id",
            )
        if request.toolgroup_id in self._declared_ids:
            raise Conflict(
                f"tool group {request.toolgroup_id!r} already exists (declared in the run config)",
                param="toolgroup_id",
            )
        group = build_group(request, owner=owner, created_at_ns=now_ns())
        if group.endpoint is not None:
            await self.check_url(group.endpoint.uri, param="mcp_endpoint.uri")
        if await self._store.get(group.id, owner) is not None:
            raise Conflict(f"tool group {group.id!r} already exists", param="toolgroup_id")
        await self._tools_of(group)  # the server must answer (and accept the credentials) first
        await self._store.insert(group)
        return group

    async def list_groups(self, owner: str | None) -> list[ToolGroup]:
        return [*self._declared, *await self._store.list(owner)]

    async def get_group(self, group_id: str, owner: str | None) -> ToolGroup:
        group = self._declared_ids.get(group_id) or await self._store.get(group_id, owner)
        if group is None:
            known = [g.id for g in await self.list_groups(owner)]
            raise NotFound(
                f"tool group {group_id!r} not found (tool groups: {_names(known)})", param="toolgroup_id"
            )
        return group

    async def unregister(self, group_id: str, owner: str | None) -> None:
        if group_id in self._declared_ids:
            raise InvalidRequest(
                f"tool group {group_id!r} is declared in the run config and cannot be deleted",
                param="toolgroup_id",
            )
        await self._store.delete(group_id, owner)

    # -- tools ------------------------------------------------------------------------------

    async def list_tools(self, owner: str | None, toolgroup_id: str | None = None) -> list[dict[str, Any]]:
        groups = (
            [await self.get_group(toolgroup_id, owner)] if toolgroup_id else await self.list_groups(owner)
        )
        listed: list[dict[str, Any]] = []
        if toolgroup_id:
            return [tool_object(tool, groups[0].id) for tool in await self._tools_of(groups[0])]
        for group, tools in zip(groups, await self._list_each(groups), strict=True):
            if isinstance(tools, OGXError):
                logger.warning("listing the tools of tool group %s failed: %s", group.id, tools.message)
                continue
            listed.extend(tool_object(tool, group.id) for tool in tools)
        return listed

    async def get_tool(self, tool_name: str, owner: str | None) -> dict[str, Any]:
        group, tool = await self._find(tool_name, owner)
        return tool_object(tool, group.id)

    async def invoke(self, tool_name: str, kwargs: Mapping[str, Any], owner: str | None) -> ToolResult:
        group, _ = await self._find(tool_name, owner)
        return await self._runner(group.provider_id).invoke(group.endpoint, tool_name, kwargs)

    async def _find(self, tool_name: str, owner: str | None) -> tuple[ToolGroup, ToolDef]:
        """The first tool group (declared ones first, then by registration) serving `tool_name`.
        Groups whose server cannot be listed are skipped, and named if the tool is not found."""
        groups = await self.list_groups(owner)
        results = await self._list_each(groups)
        for group, tools in zip(groups, results, strict=True):
            if not isinstance(tools, OGXError):
                for tool in tools:
                    if tool.name == tool_name:
                        return group, tool
        known = [t.name for tools in results if not isinstance(tools, OGXError) for t in tools]
        message = f"tool {tool_name!r} not found (tools: {_names(known)})"
        failed = [
            f"{g.id}: {r.message}" for g, r in zip(groups, results, strict=True) if isinstance(r, OGXError)
        ]
        if failed:
            message += "; these tool groups could not be listed: " + "; ".join(failed)
        raise NotFound(message, param="tool_name")

    async def _list_each(self, groups: Sequence[ToolGroup]) -> list[list[ToolDef] | OGXError]:
        async def listing(group: ToolGroup) -> list[ToolDef] | OGXError:
            try:
                return await self._tools_of(group)
            except OGXError as exc:
                return exc

        if len(groups) == 1:
            return [await listing(groups[0])]
        return list(await asyncio.gather(*(listing(group) for group in groups)))

    async def _tools_of(self, group: ToolGroup) -> list[ToolDef]:
        return await self._runner(group.provider_id).list_tools(group.endpoint)

    def _runner(self, provider_id: str) -> ToolSession:
        runtime = self._runtimes.get(provider_id)
        if runtime is None:
            raise InvalidRequest(f"tool_runtime provider {provider_id!r} is not configured any more")
        if has_provider_data():
            return runtime  # a scope per call: per-request credentials never stay in the shared one
        return self._shared.get(provider_id, runtime)

    # -- connectors -------------------------------------------------------------------------

    def list_connectors(self) -> list[dict[str, Any]]:
        return [connector_object(c) for c in self._connectors.values()]

    def get_connector(self, connector_id: str) -> dict[str, Any]:
        self.endpoint_for_connector(connector_id, None)
        return connector_object(self._connectors[connector_id])

    async def connector_tools(self, connector_id: str) -> list[dict[str, Any]]:
        endpoint = self.endpoint_for_connector(connector_id, None)
        runtime = self.mcp_runtime()
        provider_id = next(p for p, r in self._runtimes.items() if r is runtime)
        return [tool_object(tool, None) for tool in await self._runner(provider_id).list_tools(endpoint)]

    async def connector_tool(self, connector_id: str, tool_name: str) -> dict[str, Any]:
        tools = await self.connector_tools(connector_id)
        for tool in tools:
            if tool["name"] == tool_name:
                return tool
        raise NotFound(
            f"tool {tool_name!r} not found on connector {connector_id!r} (tools: {_names([t['name'] for t in tools])})",
            param="tool_name",
        )


def _names(names: Sequence[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:_MAX_NAMES_IN_MESSAGE])
    return shown if len(names) <= _MAX_NAMES_IN_MESSAGE else f"{shown}, … ({len(names)} in all)"
