"""Where OGX keeps its data by default, shared by the core and by inline providers that persist
something (so `config: {}` works for them too).

Each run config has its own data directory, `<data dir>/<config name>`. The core validates
provider configs with it in the pydantic validation context (`RUN_DATA_DIR`), so a provider
config can default a path per run config without the core knowing the provider::

    @model_validator(mode="after")
    def _default_dir(self, info: ValidationInfo) -> Self:
        if self.storage_dir is None and (run_dir := run_data_dir_from(info)) is not None:
            self.storage_dir = run_dir / "myprovider"
        return self
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationInfo

RUN_DATA_DIR = "ogx_run_data_dir"
"""Validation-context key of the run config's data directory (a `Path`)."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`OGX_DATA_DIR`, else `$XDG_DATA_HOME/ogx`, else `~/.local/share/ogx`."""
    env = os.environ if environ is None else environ
    if env.get("OGX_DATA_DIR"):
        return Path(env["OGX_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ogx"


def run_data_dir(config_name: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The data directory of one run config: `<data dir>/<name>` (`default` when unnamed)."""
    return default_data_dir(environ) / (config_name or "default")


def run_data_dir_from(info: ValidationInfo) -> Path | None:
    """The run config's data directory from a validation context, if the core gave one."""
    context = info.context
    value = context.get(RUN_DATA_DIR) if isinstance(context, dict) else None
    return Path(value) if value is not None else None
