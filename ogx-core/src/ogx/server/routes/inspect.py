"""Native endpoints about the server itself: health, version, providers, routes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, SecretStr
from starlette.requests import Request
from starlette.responses import Response

from ogx import __version__
from ogx.providers.resolver import ProviderInstance
from ogx.server.errors import json_response
from ogx.server.services import services
from ogx_api import HealthState, HealthStatus, NotFound

router = APIRouter(prefix="/v1", tags=["inspect"])

HEALTH_TIMEOUT = 5.0
REDACTED = "********"
_SECRET_WORDS = ("key", "token", "secret", "password", "credential", "authorization")


@router.get("/health", summary="Health check")
async def health() -> Response:
    return json_response({"status": "OK"})


@router.get("/version", summary="Server version")
async def version() -> Response:
    return json_response({"version": __version__})


@router.get("/providers", summary="List configured providers with their config (secrets redacted) and health")
async def list_providers(request: Request) -> Response:
    instances = services(request).providers
    described = await asyncio.gather(*(_describe(i) for i in instances))
    return json_response({"data": described})


@router.get("/providers/{provider_id}", summary="Inspect one provider")
async def get_provider(request: Request, provider_id: str) -> Response:
    for instance in services(request).providers:
        if instance.provider_id == provider_id:
            return json_response(await _describe(instance))
    known = ", ".join(i.provider_id for i in services(request).providers) or "none"
    raise NotFound(f"provider {provider_id!r} not found; configured providers: {known}", param="provider_id")


@router.get("/inspect/routes", summary="List the routes this server serves")
async def list_routes(request: Request) -> Response:
    by_api: dict[str, set[str]] = {}
    for instance in services(request).providers:
        by_api.setdefault(instance.api.value, set()).add(instance.provider_type)
    data = [
        {
            "route": path,
            "method": method.upper(),
            "api": (operation.get("tags") or [""])[0],
            "provider_types": sorted(by_api.get((operation.get("tags") or [""])[0], ())),
        }
        for path, operations in request.app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]
    return json_response({"data": data})


async def _describe(instance: ProviderInstance) -> dict[str, Any]:
    status = await _health(instance)
    plugin = instance.loaded.plugin
    return {
        "api": instance.api.value,
        "provider_id": instance.provider_id,
        "provider_type": instance.provider_type,
        "config": redact(instance.config),
        "health": status.model_dump(mode="json"),
        "plugin": {"name": plugin.name, "distribution": plugin.distribution, "version": plugin.version},
    }


async def _health(instance: ProviderInstance) -> HealthStatus:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            return await instance.impl.health()
    except TimeoutError:
        return HealthStatus(
            status=HealthState.error, message=f"health check timed out after {HEALTH_TIMEOUT:g}s"
        )
    except Exception as exc:  # a broken health check is reported as unhealthy, not as a 500
        return HealthStatus(status=HealthState.error, message=f"{type(exc).__name__}: {exc}")


def redact(config: BaseModel) -> dict[str, Any]:
    """The provider config as JSON with every secret replaced: `SecretStr` fields and any field
    whose name says it holds a credential."""
    return _redact_value(config)


def _redact_value(value: Any, name: str = "") -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, BaseModel):
        return {k: _redact_value(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, name) for v in value]
    if (
        value is not None
        and any(word in name.lower() for word in _SECRET_WORDS)
        and not isinstance(value, bool)
    ):
        return REDACTED
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
