"""Entry point of the `ogx-vllm` plugin (group `ogx`, name `vllm`).

Imports only `ogx_api`: the adapter is reached through the dotted paths when a run config
uses `remote::vllm`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::vllm",
            config_class="ogx_vllm.config:VLLMConfig",
            factory="ogx_vllm.adapter:create_provider",
            provider_data_validator="ogx_vllm.config:VLLMProviderData",
            description="Chat, completions and embeddings served by a vLLM server (or any "
            "OpenAI-compatible server) over HTTP.",
        )
    ]
