"""`inline::faiss` keeps each run config's indexes in that config's data directory unless told
otherwise (the core passes the directory in the validation context)."""

from __future__ import annotations

from pathlib import Path

from ogx_api.paths import RUN_DATA_DIR
from ogx_faiss.config import FaissConfig
from ogx_faiss.provider import FaissVectorIO


def test_storage_dir_defaults_to_the_run_configs_data_directory(tmp_path: Path) -> None:
    alpha = FaissConfig.model_validate({}, context={RUN_DATA_DIR: tmp_path / "alpha"})
    beta = FaissConfig.model_validate({}, context={RUN_DATA_DIR: tmp_path / "beta"})
    assert FaissVectorIO(alpha).storage_dir == tmp_path / "alpha" / "faiss"
    assert FaissVectorIO(beta).storage_dir == tmp_path / "beta" / "faiss"


def test_an_explicit_storage_dir_wins(tmp_path: Path) -> None:
    config = FaissConfig.model_validate(
        {"storage_dir": str(tmp_path / "mine")}, context={RUN_DATA_DIR: tmp_path / "alpha"}
    )
    assert config.storage_dir == tmp_path / "mine"
