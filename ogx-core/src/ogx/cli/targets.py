"""What `ogx run TARGET` names: a run-config file, or a distribution some plugin ships."""

from __future__ import annotations

from pathlib import Path

from ogx.config import ConfigError, RunConfig, load_run_config, parse_run_config
from ogx.plugins import PluginManager

DEFAULT_TARGET = "starter"


def load_target(target: str, plugins: PluginManager) -> RunConfig:
    path = Path(target).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in target:
        return load_run_config(path)
    found = plugins.distributions.get(target)
    if found is None:
        known = ", ".join(sorted(plugins.distributions)) or "none"
        raise ConfigError(
            [f"{target!r} is neither a run-config file nor a distribution (distributions: {known})"]
        )
    distribution, plugin = found
    config = parse_run_config(distribution.run_config, source=f"distribution {target} from {plugin.label}")
    if config.name is None:
        config = config.model_copy(update={"name": distribution.name})
    return config
