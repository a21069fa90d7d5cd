"""Entry point of the `ogx-mcp` plugin (group `ogx`, name `mcp`).

Imports only `ogx_api`: the MCP SDK is imported when a run config uses
`remote::model-context-protocol`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="remote::model-context-protocol",
            config_class="ogx_mcp.config:MCPToolRuntimeConfig",
            factory="ogx_mcp.runtime:create_provider",
            provider_data_validator="ogx_mcp.config:MCPProviderData",
            description="Tools served by Model Context Protocol servers over streamable HTTP "
            "(falling back to SSE), with per-request sessions, cached tool lists and an "
            "outbound URL policy.",
        )
    ]
