"""The records a plugin hands to the core: which APIs exist, which providers implement them,
and which named run configurations (distributions) ship with a package."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Api(StrEnum):
    """The APIs a provider can implement."""

    inference = "inference"
    vector_io = "vector_io"
    files = "files"
    tool_runtime = "tool_runtime"
    safety = "safety"
    file_processors = "file_processors"


class ProviderSpec(BaseModel):
    """Declares one provider. `config_class` and `factory` are dotted import paths
    (`package.module:Name` or `package.module.Name`) so that discovering a plugin never imports
    its SDK: the core imports them only when a run config uses the provider.

    `factory(config, deps)` returns the provider (or an awaitable of it); `deps` maps each
    `Api` in `api_dependencies` (and those of `optional_api_dependencies` that are configured)
    to the core's router for that API.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api: Api
    provider_type: str = Field(pattern=r"^(remote|inline)::[a-z0-9][a-z0-9_.-]*$")
    config_class: str
    factory: str
    api_dependencies: tuple[Api, ...] = ()
    optional_api_dependencies: tuple[Api, ...] = ()
    description: str = ""
    provider_data_validator: str | None = Field(
        default=None,
        description="Dotted path of a pydantic model for this provider's part of the "
        "`X-OGX-Provider-Data` request header (per-request credentials).",
    )

    @field_validator("config_class", "factory", "provider_data_validator")
    @classmethod
    def _dotted_path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        module, _, attr = value.replace(":", ".").rpartition(".")
        if not module or not attr:
            raise ValueError(f"{value!r} is not a dotted import path like 'package.module:Name'")
        return value


class Distribution(BaseModel):
    """A named run configuration shipped by a package (a "hardware distro"), listed by
    `ogx distros` and started by `ogx run NAME`. `run_config` is the YAML document as a mapping;
    `${env.X}` references in it are substituted when it is loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    run_config: dict[str, Any]
