"""The OGX provider contract.

A provider package depends on this package alone: it declares `ProviderSpec`s through the
`ogx_provider_specs` hook (implemented with `@hookimpl`), implements a protocol such as
`ogx_api.inference.InferenceProvider`, and raises the errors defined here.
"""

from ogx_api.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotImplementedByProvider,
    OGXError,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from ogx_api.hookspecs import PROJECT_NAME, hookimpl, hookspec
from ogx_api.provider import BaseProvider, HealthState, HealthStatus, Provider
from ogx_api.specs import Api, Distribution, ProviderSpec

__version__ = "0.1.0"

__all__ = [
    "PROJECT_NAME",
    "Api",
    "BaseProvider",
    "Conflict",
    "Distribution",
    "Forbidden",
    "HealthState",
    "HealthStatus",
    "InvalidRequest",
    "NotFound",
    "NotImplementedByProvider",
    "OGXError",
    "PayloadTooLarge",
    "Provider",
    "ProviderError",
    "ProviderSpec",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "Unauthorized",
    "hookimpl",
    "hookspec",
]
