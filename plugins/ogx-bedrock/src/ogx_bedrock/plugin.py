"""Entry point of the `ogx-bedrock` plugin (group `ogx`, name `bedrock`).

Imports only `ogx_api`: botocore and the adapter are reached through the dotted paths when a run
config uses `remote::bedrock`.
"""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::bedrock",
            config_class="ogx_bedrock.config:BedrockConfig",
            factory="ogx_bedrock.adapter:create_provider",
            provider_data_validator="ogx_bedrock.config:BedrockProviderData",
            description="Chat (with tools, images and streaming) through Amazon Bedrock's Converse "
            "API, and Titan / Cohere embeddings through InvokeModel.",
        )
    ]
