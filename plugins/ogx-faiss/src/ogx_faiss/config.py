"""Configuration of the `inline::faiss` provider. Importing it imports neither FAISS nor numpy."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from ogx_api.paths import run_data_dir_from


class FaissConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage_dir: Path | None = Field(
        default=None,
        description="Directory of the indexes (one SQLite file and one FAISS snapshot per index). "
        "Default: `<data dir>/<run config name>/faiss`, where the data dir is $OGX_DATA_DIR, else "
        "$XDG_DATA_HOME/ogx, else ~/.local/share/ogx.",
    )
    hnsw_m: int = Field(default=32, ge=4, le=128, description="HNSW graph degree (FAISS `M`).")
    ef_construction: int = Field(default=64, ge=8, le=1024, description="HNSW build-time beam width.")
    ef_search: int = Field(
        default=64, ge=8, le=4096, description="HNSW search beam width (raised to `k` when `k` is larger)."
    )
    exact_search_max: int = Field(
        default=4096,
        ge=0,
        description="Search exactly (a matrix product over the candidates) when at most this many "
        "chunks can match: small indexes and selective filters get exact results.",
    )
    compact_dead_fraction: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Rebuild the HNSW graph once this fraction of its vectors belongs to deleted or "
        "replaced chunks (HNSW cannot remove vectors in place).",
    )

    snapshot_every: int = Field(
        default=10_000,
        ge=1,
        description="Snapshot the HNSW graph (in a background thread) once this many chunks have been "
        "inserted or deleted since the last snapshot. After a crash, opening the index replays the "
        "changes since the last snapshot into it: at most about this many HNSW insertions.",
    )
    open_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a request waits for an index that is being opened (after a crash, its "
        "graph catching up with the stored chunks) before failing with 503 `provider_unavailable`; "
        "the opening goes on and a retry succeeds once it is done.",
    )
    warm_start: bool = Field(
        default=True,
        description="Open every stored index in the background after start-up (one at a time, the "
        "most recently written first), so the first request to each does not wait for it. The "
        "server is ready without waiting for it; a request for an index not yet opened opens it at "
        "once. Off: each index opens on its first request.",
    )

    @model_validator(mode="after")
    def _default_storage_dir(self, info: ValidationInfo) -> Self:
        if self.storage_dir is None and (run_dir := run_data_dir_from(info)) is not None:
            self.storage_dir = run_dir / "faiss"
        return self
