"""Where OGX keeps its data by default, shared by the core and by inline providers that persist
something (so `config: {}` works for them too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`OGX_DATA_DIR`, else `$XDG_DATA_HOME/ogx`, else `~/.local/share/ogx`."""
    env = os.environ if environ is None else environ
    if env.get("OGX_DATA_DIR"):
        return Path(env["OGX_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ogx"
