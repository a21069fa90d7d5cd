"""Where `remote::pgvector` connects: the run config wins, then `PGVECTOR_*`, then defaults;
the password never appears in what the provider says about the database."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from ogx_pgvector.config import PGVectorConfig


def test_fields_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PGVECTOR_HOST": "db.internal",
        "PGVECTOR_PORT": "6543",
        "PGVECTOR_DB": "rag",
        "PGVECTOR_USER": "app",
        "PGVECTOR_PASSWORD": "p@ss/word",
    }.items():
        monkeypatch.setenv(name, value)
    config = PGVectorConfig()
    assert config.dsn_value() == "postgresql://app:p%40ss%2Fword@db.internal:6543/rag"
    assert config.where() == "db.internal:6543/rag"
    assert PGVectorConfig(host="other").host == "other"


def test_a_dsn_wins_and_stays_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGVECTOR_DSN", "postgresql://u:topsecret@pg:5433/vectors")
    config = PGVectorConfig(host="ignored")
    assert config.dsn_value().endswith("@pg:5433/vectors")
    assert "topsecret" not in config.where() and "topsecret" not in repr(config)


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PGVECTOR_DSN",
        "PGVECTOR_HOST",
        "PGVECTOR_PORT",
        "PGVECTOR_DB",
        "PGVECTOR_USER",
        "PGVECTOR_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    assert PGVectorConfig().dsn_value() == "postgresql://postgres@localhost:5432/postgres"
    assert (
        PGVectorConfig(password=SecretStr("x")).dsn_value()
        == "postgresql://postgres:x@localhost:5432/postgres"
    )
    with pytest.raises(ValidationError):
        PGVectorConfig(pool_min_size=5, pool_max_size=2)
