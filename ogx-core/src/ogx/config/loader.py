"""Load a run config: YAML → `${env.X}` substitution → validation → disabled entries dropped.
Every problem is reported with its YAML path."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ogx.config.envsubst import SubstitutionError, substitute
from ogx.config.errors import ConfigError, format_path
from ogx.config.schema import RunConfig
from ogx_api import Api


def load_run_config(path: str | Path, environ: Mapping[str, str] | None = None) -> RunConfig:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"], source=str(path)) from exc
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], source=str(path)) from exc
    config = parse_run_config(tree, environ, source=str(path))
    if config.name is None:
        config = config.model_copy(update={"name": path.stem})
    return config


def parse_run_config(
    tree: Any, environ: Mapping[str, str] | None = None, *, source: str | None = None
) -> RunConfig:
    if not isinstance(tree, Mapping):
        raise ConfigError([f"<root>: expected a mapping, got {type(tree).__name__}"], source=source)
    try:
        resolved = substitute(tree, os.environ if environ is None else environ)
    except SubstitutionError as exc:
        raise ConfigError(exc.problems, source=source) from exc
    try:
        config = RunConfig.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc), source=source) from exc
    problems = _cross_reference_problems(config)
    if problems:
        raise ConfigError(problems, source=source)
    return _without_disabled(config)


def validation_problems(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and indentation)"
        elif error["type"] == "missing":
            message = "required but missing"
        elif "input" in error and error["type"] not in ("missing",):
            message = f"{message} (got {error['input']!r})"
        problems.append(f"{format_path((*prefix, *loc))}: {message}")
    return problems


def _is_union_tag(part: str | int) -> bool:
    # pydantic inserts the union member or function name into `loc`; YAML paths don't have it.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _cross_reference_problems(config: RunConfig) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for api, entries in config.providers.items():
        for index, entry in enumerate(entries):
            path = f"providers.{api.value}[{index}].provider_id"
            if entry.provider_id is None:
                continue
            if entry.provider_id in seen:
                problems.append(
                    f"{path}: provider_id {entry.provider_id!r} is already used at {seen[entry.provider_id]}"
                )
            seen[entry.provider_id] = path
    inference_ids = {p.provider_id for p in config.providers.get(Api.inference, []) if p.provider_id}
    model_ids: dict[str, str] = {}
    for index, model in enumerate(config.registered_resources.models):
        path = f"registered_resources.models[{index}]"
        if model.provider_id is None:
            continue  # its provider is disabled: the model is dropped
        if model.provider_id not in inference_ids:
            known = ", ".join(sorted(inference_ids)) or "none"
            problems.append(
                f"{path}.provider_id: no inference provider {model.provider_id!r} (inference providers: {known})"
            )
        for name in (model.model_id, *model.aliases):
            if name in model_ids:
                problems.append(f"{path}: model id or alias {name!r} is already used at {model_ids[name]}")
            model_ids[name] = path
    problems += _tool_problems(config)
    return problems


def _tool_problems(config: RunConfig) -> list[str]:
    problems = []
    runtime_ids = {p.provider_id for p in config.providers.get(Api.tool_runtime, []) if p.provider_id}
    group_ids: dict[str, str] = {}
    for index, group in enumerate(config.registered_resources.tool_groups):
        path = f"registered_resources.tool_groups[{index}]"
        if group.provider_id is not None and group.provider_id not in runtime_ids:
            known = ", ".join(sorted(runtime_ids)) or "none"
            problems.append(
                f"{path}.provider_id: no tool_runtime provider {group.provider_id!r} (tool_runtime providers: {known})"
            )
        if group.toolgroup_id in group_ids:
            problems.append(
                f"{path}: toolgroup_id {group.toolgroup_id!r} is already used at {group_ids[group.toolgroup_id]}"
            )
        group_ids[group.toolgroup_id] = path
    connector_ids: dict[str, str] = {}
    for index, connector in enumerate(config.connectors):
        path = f"connectors[{index}]"
        if connector.connector_id in connector_ids:
            problems.append(
                f"{path}: connector_id {connector.connector_id!r} is already used at {connector_ids[connector.connector_id]}"
            )
        connector_ids[connector.connector_id] = path
    return problems


def _without_disabled(config: RunConfig) -> RunConfig:
    providers = {api: [p for p in entries if p.provider_id] for api, entries in config.providers.items()}
    enabled = {p.provider_id for entries in providers.values() for p in entries}
    models = [m for m in config.registered_resources.models if m.provider_id in enabled]
    groups = [g for g in config.registered_resources.tool_groups if g.provider_id in enabled]
    resources = config.registered_resources.model_copy(update={"models": models, "tool_groups": groups})
    return config.model_copy(update={"providers": providers, "registered_resources": resources})
