"""The plugin hooks of OGX (pluggy project name `ogx`).

A plugin is a distribution with an entry point in group `ogx` whose target module implements
some of these hooks with `@ogx_api.hookimpl`. The module should import only `ogx_api` and the
standard library, so that discovering it is cheap and cannot fail on a missing SDK.
"""

from __future__ import annotations

import pluggy

from ogx_api.specs import Distribution, ProviderSpec

PROJECT_NAME = "ogx"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ogx_provider_specs() -> list[ProviderSpec]:  # type: ignore[empty-body]
    """Declare the providers this plugin offers.

    Called once when the core loads plugins (at server start and by `ogx providers`).
    Return a list of `ProviderSpec` records; their `config_class` and `factory` are imported
    only when a run config uses the provider.

    Example::

        @hookimpl
        def ogx_provider_specs():
            return [
                ProviderSpec(
                    api=Api.inference,
                    provider_type="remote::vllm",
                    config_class="ogx_vllm.config:VLLMConfig",
                    factory="ogx_vllm.adapter:create_provider",
                    description="vLLM's OpenAI-compatible server",
                )
            ]
    """


@hookspec
def ogx_distributions() -> list[Distribution]:  # type: ignore[empty-body]
    """Declare named run configurations ("distributions") shipped by this plugin.

    Called when the core lists distributions (`ogx distros`) or resolves `ogx run NAME`.
    Return a list of `Distribution` records.

    Example::

        @hookimpl
        def ogx_distributions():
            return [
                Distribution(
                    name="acme-npu",
                    description="OGX on Acme NPUs",
                    run_config={
                        "version": 2,
                        "providers": {
                            "inference": [
                                {"provider_id": "npu", "provider_type": "remote::vllm",
                                 "config": {"base_url": "${env.ACME_NPU_URL:=http://localhost:8000/v1}"}}
                            ]
                        },
                    },
                )
            ]
    """
