"""The current schema, for queries. `migrations.py` creates and evolves it.

Every table of user-created objects has an `owner` column (null: created by the server itself)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.String(512), primary_key=True),
    sa.Column("provider_id", sa.String(128), nullable=False, index=True),
    sa.Column("provider_model_id", sa.String(512), nullable=False),
    sa.Column("model_type", sa.String(32), nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("aliases", sa.JSON, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.Integer, nullable=False),
)

chat_completions = sa.Table(
    "chat_completions",
    metadata,
    sa.Column("id", sa.String(256), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("model", sa.String(512), nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("input_messages", sa.JSON, nullable=False),
    sa.Column("completion", sa.JSON, nullable=False),
)
