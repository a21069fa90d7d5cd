"""Entry point of `ogx-echo` (group `ogx`, name `echo`): imports `ogx_api` only."""

from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::echo",
            config_class="ogx_echo.provider:EchoConfig",
            factory="ogx_echo.provider:create_provider",
            description="Answers every chat completion with the last user message.",
        )
    ]
