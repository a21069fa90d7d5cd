"""The plugin manager: built on pluggy, fed by entry points in group `ogx`.

Each entry point is loaded on its own: one that fails to import, implements a misspelled hook
or returns garbage is logged with its entry point and distribution, recorded as a failure and
skipped; the server fails only if its run config needs a provider that is missing
(`OGX_STRICT_PLUGINS=1` makes any failure fatal). `OGX_DISABLED_PLUGINS=a,b` skips plugins by
entry-point or distribution name. Everything is computed once, at construction: nothing here
runs per request.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from ogx_api import Distribution, ProviderSpec, hookspecs

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ogx"


class PluginConflict(Exception):
    """Two plugins declare the same provider type or distribution name."""


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin comes from, and whether it loaded."""

    name: str
    distribution: str
    version: str
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"


@dataclass(frozen=True)
class LoadedSpec:
    spec: ProviderSpec
    plugin: PluginInfo


BUILTIN = PluginInfo(name="builtin", distribution="ogx", version="")


class PluginManager:
    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        plugins: Iterable[tuple[PluginInfo, ModuleType | object]] = (),
        environ: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> None:
        """`quiet` logs plugin failures at debug level (for a second load in the same run)."""
        env = os.environ if environ is None else environ
        self.strict = env.get("OGX_STRICT_PLUGINS", "").strip().lower() not in ("", "0", "false", "no", "off")
        self.disabled = {_normalise(n) for n in env.get("OGX_DISABLED_PLUGINS", "").split(",") if n.strip()}
        self._quiet = quiet
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self.failures: list[PluginInfo] = []

        from ogx.plugins import builtin

        self._register(BUILTIN, builtin)
        for info, plugin in plugins:
            self._register(info, plugin)
        if load_entry_points:
            for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                self._load_entry_point(entry_point)
        self.provider_specs: dict[str, LoadedSpec] = self._collect_provider_specs()
        self.distributions: dict[str, tuple[Distribution, PluginInfo]] = self._collect_distributions()

    @property
    def plugins(self) -> list[PluginInfo]:
        return list(self._info.values())

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        dist = entry_point.dist
        info = PluginInfo(
            name=entry_point.name,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
        )
        if _normalise(info.name) in self.disabled or _normalise(info.distribution) in self.disabled:
            logger.info("plugin %s disabled by OGX_DISABLED_PLUGINS", info.label)
            return
        try:
            module = entry_point.load()
        except Exception as exc:  # any import-time failure of third-party code is isolated
            self._fail(info, f"failed to import {entry_point.value}: {type(exc).__name__}: {exc}", exc)
            return
        self._register(info, module)

    def _register(self, info: PluginInfo, plugin: object) -> None:
        try:
            self._pm.register(plugin, name=info.name)
        except ValueError as exc:
            self._fail(info, f"plugin name already registered: {exc}", exc)
            return
        except pluggy.PluginValidationError as exc:
            self._fail(info, str(exc), exc)
            return
        unknown = [hc.name for hc in self._pm.get_hookcallers(plugin) or [] if not hc.has_spec()]
        if unknown:
            self._pm.unregister(plugin)
            known = [name for name in dir(hookspecs) if name.startswith("ogx_")]
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, known, n=1)
                hints.append(f"{name}" + (f" (did you mean {close[0]}?)" if close else ""))
            self._fail(info, f"implements unknown hooks: {', '.join(hints)}", None)
            return
        self._info[info.name] = info

    def _fail(self, info: PluginInfo, error: str, exc: BaseException | None) -> None:
        failed = PluginInfo(info.name, info.distribution, info.version, error=error)
        self.failures.append(failed)
        logger.log(
            logging.DEBUG if self._quiet else logging.WARNING, "skipping plugin %s: %s", info.label, error
        )
        if self.strict:
            raise RuntimeError(f"plugin {info.label}: {error} (OGX_STRICT_PLUGINS is set)") from exc

    def _call_each(self, hook_name: str, record_type: type) -> list[tuple[Any, PluginInfo]]:
        """Call one hook on each plugin separately, so a plugin that raises or returns garbage is
        attributed and skipped without hiding the others' results."""
        results: list[tuple[Any, PluginInfo]] = []
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            info = self._info[impl.plugin_name]
            try:
                returned = impl.function()
                if returned is not None and not isinstance(returned, list | tuple):
                    raise TypeError(f"{hook_name} must return a list, got {type(returned).__name__}")
                records = list(returned or [])
                bad = [r for r in records if not isinstance(r, record_type)]
                if bad:
                    raise TypeError(
                        f"{hook_name} returned {type(bad[0]).__name__}, expected {record_type.__name__}"
                    )
            except Exception as exc:  # third-party hook code: isolate and record
                self._fail(info, f"{hook_name}() failed: {type(exc).__name__}: {exc}", exc)
                continue
            results.extend((record, info) for record in records)
        return results

    def _collect_provider_specs(self) -> dict[str, LoadedSpec]:
        specs: dict[str, LoadedSpec] = {}
        for spec, info in self._call_each("ogx_provider_specs", ProviderSpec):
            if spec.provider_type in specs:
                other = specs[spec.provider_type].plugin
                raise PluginConflict(
                    f"provider type {spec.provider_type!r} is declared by two plugins: "
                    f"{other.label} and {info.label}; uninstall one or disable it with OGX_DISABLED_PLUGINS"
                )
            specs[spec.provider_type] = LoadedSpec(spec, info)
        return specs

    def _collect_distributions(self) -> dict[str, tuple[Distribution, PluginInfo]]:
        distributions: dict[str, tuple[Distribution, PluginInfo]] = {}
        for distribution, info in self._call_each("ogx_distributions", Distribution):
            if distribution.name in distributions:
                other = distributions[distribution.name][1]
                raise PluginConflict(
                    f"distribution {distribution.name!r} is declared by two plugins: {other.label} and {info.label}"
                )
            distributions[distribution.name] = (distribution, info)
        return distributions

    def missing_provider_message(self, provider_type: str) -> str:
        installed = ", ".join(sorted(self.provider_specs)) or "none"
        message = f"no installed plugin provides {provider_type!r} (installed provider types: {installed})"
        if self.failures:
            failed = "; ".join(f"{f.label}: {f.error}" for f in self.failures)
            message += f"; plugins that failed to load: {failed}"
        else:
            package = "ogx-" + provider_type.split("::", 1)[1]
            message += f"; is {package} installed?"
        return message


def _normalise(name: str) -> str:
    """PEP 503 normalisation, so `ogx_vllm`, `OGX.vllm` and `ogx-vllm` name the same thing."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()
