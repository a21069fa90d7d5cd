"""Tools: tool groups (registered and declared), their tools, tool invocation, MCP connectors,
and the built-in `inline::builtin` runtime. See `service.py` for the interface other APIs use."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config import RunConfig
from ogx.encryption import SecretBox
from ogx.providers.resolver import import_object
from ogx.tools.groups import RegisterToolGroupRequest, ToolGroup
from ogx.tools.service import MCP_PROVIDER_TYPE, ToolsService
from ogx_api import Api

__all__ = ["RegisterToolGroupRequest", "ToolGroup", "ToolsService", "start_tools", "with_outbound_policy"]


def with_outbound_policy(config: RunConfig) -> RunConfig:
    """The run config with `server.outbound` as the URL policy of every MCP runtime that sets
    none, and the URLs of its connectors and declared tool groups trusted by each (the
    deployment chose them; a client's URLs still pass the policy). One place to configure."""
    entries = config.providers.get(Api.tool_runtime)
    if not entries or not any(p.provider_type == MCP_PROVIDER_TYPE for p in entries):
        return config
    trusted = [c.url for c in config.connectors] + [
        str(g.mcp_endpoint["uri"])
        for g in config.registered_resources.tool_groups
        if g.mcp_endpoint and isinstance(g.mcp_endpoint.get("uri"), str)
    ]
    updated = []
    for entry in entries:
        if entry.provider_type == MCP_PROVIDER_TYPE:
            policy: dict[str, Any] = dict(
                entry.config.get("url_policy") or config.server.outbound.model_dump(mode="json")
            )
            policy["trusted_urls"] = [*policy.get("trusted_urls", ()), *trusted]
            entry = entry.model_copy(update={"config": {**entry.config, "url_policy": policy}})
        updated.append(entry)
    return config.model_copy(update={"providers": {**config.providers, Api.tool_runtime: updated}})


async def start_tools(
    config: RunConfig, instances: Sequence[Any], engine: AsyncEngine, box: SecretBox, stack: AsyncExitStack
) -> ToolsService:
    """The tools service over the configured tool_runtime providers; closed with `stack`. `box`
    seals the credentials of registered tool groups."""
    runtimes = {i.provider_id: (i.provider_type, i.impl) for i in instances if i.api is Api.tool_runtime}
    fields: dict[str, frozenset[str]] = {}
    for instance in instances:
        dotted = instance.api is Api.tool_runtime and instance.loaded.spec.provider_data_validator
        if dotted:
            model = import_object(dotted, instance.loaded)
            fields[instance.provider_id] = frozenset(model.model_fields)
    service = ToolsService(
        engine,
        runtimes,
        box,
        declared=config.registered_resources.tool_groups,
        connectors=config.connectors,
        outbound=config.server.outbound,
        provider_data_fields=fields,
    )
    await service.start()
    stack.push_async_callback(service.close)
    return service
