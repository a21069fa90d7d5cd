"""The resolver: validates every provider entry of a run config against its plugin's config
class, then instantiates and starts the providers in dependency order. Imports of a provider's
config class and factory happen here, only for providers the run config uses."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from pydantic import BaseModel, ValidationError

from ogx.config import ConfigError, RunConfig
from ogx.config.loader import validation_problems
from ogx.plugins import LoadedSpec, PluginManager
from ogx_api import Api
from ogx_api.paths import RUN_DATA_DIR, run_data_dir


@dataclass(frozen=True)
class PreparedProvider:
    api: Api
    provider_id: str
    path: str
    loaded: LoadedSpec
    config: BaseModel


@dataclass(frozen=True)
class ProviderInstance:
    api: Api
    provider_id: str
    provider_type: str
    loaded: LoadedSpec
    config: BaseModel
    impl: Any


class ProviderImportError(ConfigError):
    pass


def import_object(dotted: str, loaded: LoadedSpec) -> Any:
    if ":" in dotted:
        module_name, attr = dotted.split(":", 1)
    else:
        module_name, _, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module_name
        raise ProviderImportError(
            [
                f"provider {loaded.spec.provider_type} (from {loaded.plugin.label}) cannot import "
                f"{module_name!r}: module {missing!r} is missing; install {loaded.plugin.distribution} "
                "with its dependencies"
            ]
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ProviderImportError(
            [f"provider {loaded.spec.provider_type}: {module_name!r} has no attribute {attr!r} ({dotted})"]
        ) from exc


def prepare_providers(
    config: RunConfig,
    plugins: PluginManager,
    source: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[PreparedProvider]:
    """Validate every enabled provider entry; collect every problem before raising. Configs are
    validated with the run config's data directory in the context (`ogx_api.paths.RUN_DATA_DIR`)."""
    problems: list[str] = []
    context = {RUN_DATA_DIR: run_data_dir(config.name, environ)}
    prepared: list[PreparedProvider] = []
    for api, entries in config.providers.items():
        for index, entry in enumerate(entries):
            path = f"providers.{api.value}[{index}]"
            loaded = plugins.provider_specs.get(entry.provider_type)
            if loaded is None:
                problems.append(
                    f"{path}.provider_type: {plugins.missing_provider_message(entry.provider_type)}"
                )
                continue
            if loaded.spec.api is not api:
                problems.append(
                    f"{path}.provider_type: {entry.provider_type!r} implements the {loaded.spec.api.value} API, "
                    f"not {api.value}"
                )
                continue
            try:
                config_class = import_object(loaded.spec.config_class, loaded)
                import_object(loaded.spec.factory, loaded)  # a missing SDK shows here, not at start-up
                provider_config = config_class.model_validate(entry.config, context=context)
            except ConfigError as exc:
                problems.extend(f"{path}.provider_type: {p}" for p in exc.problems)
                continue
            except ValidationError as exc:
                problems.extend(validation_problems(exc, prefix=(*path_parts(path), "config")))
                continue
            assert entry.provider_id is not None  # disabled entries were dropped by the loader
            prepared.append(PreparedProvider(api, entry.provider_id, path, loaded, provider_config))
    problems.extend(_dependency_problems(prepared))
    if problems:
        raise ConfigError(problems, source=source)
    return prepared


def provider_data_validators(prepared: list[PreparedProvider]) -> list[type[BaseModel]]:
    """The distinct `X-OGX-Provider-Data` models of the configured providers."""
    found: dict[str, type[BaseModel]] = {}
    for p in prepared:
        dotted = p.loaded.spec.provider_data_validator
        if dotted and dotted not in found:
            found[dotted] = import_object(dotted, p.loaded)
    return list(found.values())


def path_parts(path: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, _, index = piece.partition("[")
        parts.append(name)
        if index:
            parts.append(int(index))
    return tuple(parts)


def _dependency_problems(prepared: list[PreparedProvider]) -> list[str]:
    configured = {p.api for p in prepared}
    return [
        f"{p.path}: {p.loaded.spec.provider_type} needs a {dep.value} provider, and none is configured"
        for p in prepared
        for dep in p.loaded.spec.api_dependencies
        if dep not in configured
    ]


def dependency_order(prepared: list[PreparedProvider]) -> list[Api]:
    graph: dict[Api, set[Api]] = {p.api: set() for p in prepared}
    configured = set(graph)
    for p in prepared:
        spec = p.loaded.spec
        graph[p.api].update(
            d for d in (*spec.api_dependencies, *spec.optional_api_dependencies) if d in configured
        )
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ConfigError([f"providers: dependency cycle between APIs {exc.args[1]}"]) from exc


async def start_providers(
    prepared: list[PreparedProvider],
    stack: AsyncExitStack,
    build_router: Callable[[Api, list[ProviderInstance]], Any],
) -> tuple[list[ProviderInstance], Mapping[Api, Any]]:
    """Instantiate and start providers API by API in dependency order. After each API's
    providers are started, `build_router` makes the object that dependents receive for it.
    Providers are closed in reverse order when `stack` closes."""
    instances: list[ProviderInstance] = []
    routers: dict[Api, Any] = {}
    for api in dependency_order(prepared):
        started: list[ProviderInstance] = []
        for p in (p for p in prepared if p.api is api):
            spec = p.loaded.spec
            factory = import_object(spec.factory, p.loaded)
            deps = {
                d: routers[d]
                for d in (*spec.api_dependencies, *spec.optional_api_dependencies)
                if d in routers
            }
            impl = factory(p.config, deps)
            if inspect.isawaitable(impl):
                impl = await impl
            await impl.start()
            stack.push_async_callback(impl.close)
            started.append(ProviderInstance(api, p.provider_id, spec.provider_type, p.loaded, p.config, impl))
        routers[api] = build_router(api, started)
        instances.extend(started)
    return instances, routers
