"""Entry point of the `ogx-minilm` plugin (group `ogx`, name `minilm`).

Imports only `ogx_api`: ONNX Runtime and the tokenizer are imported through the dotted paths,
and only when a run config uses `inline::minilm`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::minilm",
            config_class="ogx_minilm.config:MiniLMConfig",
            factory="ogx_minilm.provider:create_provider",
            description="Sentence embeddings (384 dimensions) from all-MiniLM-L6-v2, packaged and run "
            "in-process on ONNX Runtime: offline, no torch.",
        )
    ]
