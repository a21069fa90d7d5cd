"""Entry point of `ogx-broken`: it imports an SDK that is not installed, as a plugin whose
dependencies are missing does. OGX must skip it, report it, and keep serving."""

# Never installed: importing this module fails, as a plugin with a missing dependency does.
import ogx_broken_missing_sdk  # noqa: F401  # pyright: ignore[reportMissingImports]
from ogx_api import Api, ProviderSpec, hookimpl


@hookimpl
def ogx_provider_specs() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::broken",
            config_class="ogx_broken.provider:BrokenConfig",
            factory="ogx_broken.provider:create_provider",
        )
    ]
