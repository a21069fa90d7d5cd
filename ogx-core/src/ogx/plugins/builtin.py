"""The core's own plugin, registered first through the same hooks as any third party."""

from __future__ import annotations

from importlib import resources

import yaml

from ogx_api import Api, Distribution, ProviderSpec, hookimpl

_DISTRIBUTIONS = {
    "starter": "Remote providers switched on by environment (VLLM_URL, …); embedded defaults otherwise.",
}


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.files,
            provider_type="inline::localfs",
            config_class="ogx.files.localfs:LocalFSConfig",
            factory="ogx.files.localfs:create_provider",
            description="Uploaded files in a local directory (the default when no files provider is configured)",
        ),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="inline::builtin",
            config_class="ogx.tools.builtin:BuiltinToolsConfig",
            factory="ogx.tools.builtin:create_provider",
            description="Tools inside the server: current_time and add, and the diagnostics echo, sleep and fail",
        ),
    ]


@hookimpl
def ogx_distributions() -> list[Distribution]:
    folder = resources.files("ogx.distributions")
    return [
        Distribution(
            name=name,
            description=description,
            run_config=yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text()),
        )
        for name, description in _DISTRIBUTIONS.items()
    ]
