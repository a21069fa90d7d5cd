"""Entry point of the `ogx-ollama` plugin (group `ogx`, name `ollama`).

Imports only `ogx_api`: the adapter is reached through the dotted paths when a run config
uses `remote::ollama`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::ollama",
            config_class="ogx_ollama.config:OllamaConfig",
            factory="ogx_ollama.adapter:create_provider",
            provider_data_validator="ogx_ollama.config:OllamaProviderData",
            description="Chat, completions and embeddings served by an Ollama server; models, "
            "their types and context lengths discovered from Ollama, missing ones pulled at start.",
        )
    ]
