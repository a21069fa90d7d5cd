"""Native endpoints about the server itself: health, version, providers, routes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx import __version__
from ogx.providers.resolver import ProviderInstance
from ogx.redaction import redact
from ogx.server.errors import json_response
from ogx.server.services import services
from ogx_api import HealthState, HealthStatus, NotFound

router = APIRouter(prefix="/v1", tags=["inspect"])

HEALTH_TIMEOUT = 5.0


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
