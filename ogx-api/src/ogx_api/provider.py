"""What every provider has, whatever its API: a lifecycle and a health check."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


class HealthState(StrEnum):
    ok = "OK"
    error = "Error"
    not_implemented = "Not Implemented"


class HealthStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: HealthState
    message: str | None = None


@runtime_checkable
class Provider(Protocol):
    """The lifecycle the core drives: `start()` once after the factory, `health()` on demand,
    `close()` once at shutdown (in reverse start order)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> HealthStatus: ...


class BaseProvider:
    """Convenience base with no-op lifecycle methods; override what the provider needs."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.not_implemented)
