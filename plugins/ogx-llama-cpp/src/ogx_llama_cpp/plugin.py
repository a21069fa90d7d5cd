"""Entry point of the `ogx-llama-cpp` plugin (group `ogx`, name `llama-cpp`).

Imports only `ogx_api`: llama-cpp-python is imported through the dotted paths, and only when a
run config uses `inline::llama-cpp`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::llama-cpp",
            config_class="ogx_llama_cpp.config:LlamaCppConfig",
            factory="ogx_llama_cpp.provider:create_provider",
            description="Chat and completions from a GGUF model run in-process by llama-cpp-python "
            "(by default the small Gemma 3 270M packaged on PyPI, offline).",
        )
    ]
