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
connection that died). A request whose `X-OGX-Provider-Data` carries keys the runtime reads
(ogx-mcp's `mcp_headers`, `mcp_authorization`) gets a session of its own instead, so its
credentials never stay behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config.schema import ConnectorConfig, ToolGroupConfig
from ogx.encryption import SecretBox
from ogx.tools.groups import RegisterToolGroupRequest, ToolGroup, ToolGroupStore, build_group, now_ns
from ogx.tools.shapes import connector_object, tool_object
from ogx_api import Conflict, InvalidRequest, NotFound, OGXError
from ogx_api.request_context import provider_data_keys
from ogx_api.tools import McpEndpoint, ToolDef, ToolResult, ToolRuntimeProvider, ToolSession
from ogx_api.url_policy import UrlPolicy

logger = logging.getLogger(__name__)

MCP_PROVIDER_TYPE = "remote::model-context-protocol"
_MAX_NAMES_IN_MESSAGE = 30
GROUP_CACHE_SECONDS = 2.0
"""How long a worker resolves tool names against its cached list of registered groups. A group
registered on another worker is found at once (a miss reloads); one deleted there stays
callable here for at most this long."""
_GROUP_CACHE_OWNERS = 1024
_TOOL_INDEX_SIZE = 100_000


class ToolsService:
    def __init__(
        self,
        engine: AsyncEngine,
        runtimes: Mapping[str, tuple[str, ToolRuntimeProvider]],
        box: SecretBox,
        *,
        declared: Sequence[ToolGroupConfig] = (),
        connectors: Sequence[ConnectorConfig] = (),
        outbound: UrlPolicy | None = None,
        provider_data_fields: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """`runtimes` maps each tool_runtime provider id to its provider type and provider;
        `provider_data_fields` the `X-OGX-Provider-Data` keys each runtime reads; `box` seals the
        credentials of registered groups."""
        self._store = ToolGroupStore(engine, box)
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
        self._provider_data_fields = dict(provider_data_fields or {})
        self._stack = AsyncExitStack()
        self._cached_groups: OrderedDict[str | None, tuple[float, list[ToolGroup]]] = OrderedDict()
        self._tool_index: dict[tuple[str | None, str], str] = {}  # (owner, tool name) -> group id

    async def start(self) -> None:
        for provider_id, runtime in self._runtimes.items():
            self._shared[provider_id] = await self._stack.enter_async_context(runtime.session())
        if resealed := await self._store.reseal():
            logger.info(
                "re-encrypted the credentials of %d tool groups with the current secret key", resealed
            )
        for key_id, count in (await self._store.foreign_keys()).items():
            logger.warning(
                "%d registered tool groups have credentials encrypted with secret key %s, not this "
                "server's: they cannot be used until the server runs with that key (as secret_key, or "
                "in previous_secret_keys)",
                count,
                key_id,
            )

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
        self._cached_groups.pop(owner, None)
        return group

    async def list_groups(self, owner: str | None, *, cached: bool = False) -> list[ToolGroup]:
        """Declared groups, then registered ones by registration time. `cached` allows the
        worker's copy of the registered ones (see `GROUP_CACHE_SECONDS`)."""
        entry = self._cached_groups.get(owner)
        if cached and entry is not None and time.monotonic() - entry[0] < GROUP_CACHE_SECONDS:
            return entry[1]
        groups = [*self._declared, *await self._store.list(owner)]
        self._cached_groups[owner] = (time.monotonic(), groups)
        self._cached_groups.move_to_end(owner)
        while len(self._cached_groups) > _GROUP_CACHE_OWNERS:
            self._cached_groups.popitem(last=False)
        return groups

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
        group = await self._store.get(group_id, owner)
        self._cached_groups.pop(owner, None)
        await self._store.delete(group_id, owner)
        forget = getattr(self._shared.get(group.provider_id) if group else None, "forget", None)
        if forget is not None and group is not None and group.endpoint is not None and not group.unreadable:
            await forget(group.endpoint)  # close its warm session (other workers' close at shutdown)

    # -- tools ------------------------------------------------------------------------------

    async def list_tools(self, owner: str | None, toolgroup_id: str | None = None) -> list[dict[str, Any]]:
        """The tools of one group (its server's errors raised), or of every group (a group whose
        server cannot be listed is left out and logged)."""
        if toolgroup_id:
            group = await self.get_group(toolgroup_id, owner)
            return [tool_object(tool, group.id) for tool in await self._tools_of(group)]
        groups = await self.list_groups(owner)
        listed: list[dict[str, Any]] = []
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
        return await self._runner(group.provider_id).invoke(group.usable_endpoint(), tool_name, kwargs)

    async def _find(self, tool_name: str, owner: str | None) -> tuple[ToolGroup, ToolDef]:
        """The tool group serving `tool_name`: the one it was last found in, else the first
        (declared ones first, then by registration) whose listing has it. Groups whose server
        cannot be listed are skipped, and named if the tool is not found; a known tool does not
        wait for them."""
        groups = await self.list_groups(owner, cached=True)
        known_in = self._tool_index.get((owner, tool_name))
        group = next((g for g in groups if g.id == known_in), None)
        if group is not None:
            with contextlib.suppress(OGXError):  # the full search below reports it
                if (tool := _named(await self._tools_of(group), tool_name)) is not None:
                    return group, tool
        results = await self._list_each(groups)
        listed = list(zip(groups, results, strict=True))
        reloaded = await self.list_groups(owner)  # another worker may have registered one
        added = [g for g in reloaded if g.id not in {group.id for group in groups}]
        listed += zip(added, await self._list_each(added), strict=True)
        found: tuple[ToolGroup, ToolDef] | None = None
        for group, tools in listed:
            if isinstance(tools, OGXError):
                continue
            for tool in tools:
                self._index(owner, tool.name, group.id)
            if found is None and (tool := _named(tools, tool_name)) is not None:
                found = group, tool
        if found is not None:
            self._tool_index[(owner, tool_name)] = found[0].id
            return found
        names = [t.name for _, tools in listed if not isinstance(tools, OGXError) for t in tools]
        message = f"tool {tool_name!r} not found (tools: {_names(names)})"
        failed = [f"{g.id}: {r.message}" for g, r in listed if isinstance(r, OGXError)]
        if failed:
            message += "; these tool groups could not be listed: " + "; ".join(failed)
        raise NotFound(message, param="tool_name")

    def _index(self, owner: str | None, tool_name: str, group_id: str) -> None:
        index = self._tool_index
        index.setdefault((owner, tool_name), group_id)
        while len(index) > _TOOL_INDEX_SIZE:
            index.pop(next(iter(index)))

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
        return await self._runner(group.provider_id).list_tools(group.usable_endpoint())

    def _runner(self, provider_id: str) -> ToolSession:
        runtime = self._runtimes.get(provider_id)
        if runtime is None:
            raise InvalidRequest(f"tool_runtime provider {provider_id!r} is not configured any more")
        if self._provider_data_fields.get(provider_id, frozenset()) & provider_data_keys():
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


def _named(tools: Sequence[ToolDef], name: str) -> ToolDef | None:
    return next((tool for tool in tools if tool.name == name), None)


def _names(names: Sequence[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:_MAX_NAMES_IN_MESSAGE])
    return shown if len(names) <= _MAX_NAMES_IN_MESSAGE else f"{shown}, … ({len(names)} in all)"
