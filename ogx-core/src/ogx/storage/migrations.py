"""Versioned schema migrations, applied at start-up.

Each migration has a number and freezes its own DDL (it never imports `tables.py`, which
describes the *current* schema). Several workers or replicas may start at once: the migration
transaction is serialised (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), and a worker
that finds a version already applied skips it.

A migration that encrypts stored secrets (`Migration.encrypts`) is given the server's
`SecretBox` as well; it needs one only when it finds something to encrypt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.encryption import SecretBox, is_sealed
from ogx.redaction import redact_mcp_tool, redact_tool_args, redact_tool_uri
from ogx.storage.engine import serialized_transaction


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[..., None]  # (conn), or (conn, box) when `encrypts`
    encrypts: bool = False


def _v1_models(conn: Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "models",
        md,
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
    md.create_all(conn)


def _v2_chat_completions(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "chat_completions",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("model", sa.String(512), nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("input_messages", sa.JSON, nullable=False),
        sa.Column("completion", sa.JSON, nullable=False),
    )
    sa.Index("ix_chat_completions_order", table.c.owner, table.c.created_at, table.c.id)
    md.create_all(conn)


def _v3_files(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "files",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("expires_at", sa.BigInteger, nullable=True),  # unix seconds
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(256), nullable=False),
        sa.Column("provider_id", sa.String(128), nullable=False),
    )
    sa.Index("ix_files_order", table.c.owner, table.c.created_at, table.c.id)
    sa.Index("ix_files_expires_at", table.c.expires_at)
    md.create_all(conn)


def _v4_jobs(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "jobs",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("lease_owner", sa.String(256), nullable=True),
        sa.Column("lease_expires_at", sa.Float, nullable=True),  # unix seconds, as are the times below
        sa.Column("run_after", sa.Float, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
    )
    sa.Index("ix_jobs_due", table.c.status, table.c.run_after)
    sa.Index("ix_jobs_lease", table.c.status, table.c.lease_expires_at)
    md.create_all(conn)


def _v5_interactions(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "interactions",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("model", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("interaction", sa.JSON, nullable=False),
        sa.Column("input", sa.JSON, nullable=True),
        sa.Column("history", sa.JSON, nullable=False),
    )
    sa.Index("ix_interactions_order", table.c.owner, table.c.created_at, table.c.id)
    md.create_all(conn)


def _v6_vector_stores(conn: Connection) -> None:
    md = sa.MetaData()
    stores = sa.Table(
        "vector_stores",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("provider_id", sa.String(128), nullable=False),
        sa.Column("embedding_model", sa.String(512), nullable=False),
        sa.Column("embedding_dimension", sa.Integer, nullable=False),
        sa.Column("expires_after", sa.JSON, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),  # unix seconds
        sa.Column("last_active_at", sa.BigInteger, nullable=False),  # unix seconds
    )
    sa.Index("ix_vector_stores_order", stores.c.owner, stores.c.created_at, stores.c.id)
    files = sa.Table(
        "vector_store_files",
        md,
        sa.Column("vector_store_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),  # the file id
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.JSON, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("chunking_strategy", sa.JSON, nullable=False),
        sa.Column("usage_bytes", sa.BigInteger, nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
    )
    sa.Index("ix_vector_store_files_order", files.c.vector_store_id, files.c.created_at, files.c.id)
    sa.Index("ix_vector_store_files_batch", files.c.batch_id)
    sa.Table(
        "vector_store_file_batches",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vector_store_id", sa.String(64), nullable=False, index=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds
        sa.Column("cancelled", sa.Boolean, nullable=False),
    )
    chunks = sa.Table(
        "vector_store_chunks",
        md,
        sa.Column("vector_store_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),  # little-endian float32
        sa.Column("metadata", sa.JSON, nullable=False),
    )
    sa.Index("ix_vector_store_chunks_file", chunks.c.vector_store_id, chunks.c.file_id, chunks.c.position)
    md.create_all(conn)


def _v7_tool_groups(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "tool_groups",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("provider_id", sa.String(128), nullable=False),
        sa.Column("mcp_endpoint", sa.JSON, nullable=True),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("authorization", sa.Text, nullable=True),
    )
    sa.Index("ix_tool_groups_order", table.c.owner, table.c.created_at, table.c.id)
    md.create_all(conn)


def _v8_responses(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "responses",
        md,
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("model", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("input_items", sa.JSON, nullable=False),
        sa.Column("messages", sa.JSON, nullable=False),
        sa.Column("request", sa.JSON, nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
    )
    sa.Index("ix_responses_order", table.c.owner, table.c.created_at, table.c.id)
    md.create_all(conn)


def _v9_conversations(conn: Connection) -> None:
    md = sa.MetaData()
    conversations = sa.Table(
        "conversations",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
        sa.Column("metadata", sa.JSON, nullable=False),
    )
    sa.Index("ix_conversations_order", conversations.c.owner, conversations.c.created_at, conversations.c.id)
    items = sa.Table(
        "conversation_items",
        md,
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds, increasing per conversation
        sa.Column("item", sa.JSON, nullable=False),
    )
    sa.Index("ix_conversation_items_order", items.c.conversation_id, items.c.created_at, items.c.id)
    md.create_all(conn)


def _v10_interaction_jobs(conn: Connection) -> None:
    # The job that runs a background interaction, so cancel and delete can reach it.
    conn.execute(sa.text("ALTER TABLE interactions ADD COLUMN job_id VARCHAR(64)"))


def _v11_encrypt_secrets(conn: Connection, box: SecretBox | None) -> None:
    # Credentials at rest are encrypted. A tool group's args (headers and any other credential)
    # and its authorization move, sealed, into `secrets`, leaving a redacted copy in `args`. A
    # background response's request (an MCP tool in it may carry credentials) is sealed in place.
    conn.execute(sa.text("ALTER TABLE tool_groups ADD COLUMN secrets TEXT"))
    groups = sa.table(
        "tool_groups",
        sa.column("id"),
        sa.column("args", sa.JSON),
        sa.column("authorization"),
        sa.column("secrets"),
    )
    for row in conn.execute(sa.select(groups.c.id, groups.c.args, groups.c.authorization)).all():
        args = dict(row.args or {})
        if row.authorization:
            args["authorization"] = row.authorization
        if args:
            sealed = _box_for(box).seal(args, f"tool_groups.secrets:{row.id}")
            conn.execute(
                groups.update()
                .where(groups.c.id == row.id)
                .values(args=redact_tool_args(args), secrets=sealed)
            )
    conn.execute(sa.text('ALTER TABLE tool_groups DROP COLUMN "authorization"'))
    responses = sa.table("responses", sa.column("id"), sa.column("request", sa.JSON))
    for row in conn.execute(
        sa.select(responses.c.id, responses.c.request).where(responses.c.request.is_not(None))
    ).all():
        if row.request is not None and not is_sealed(row.request):
            sealed = _box_for(box).seal(row.request, f"responses.request:{row.id}")
            conn.execute(responses.update().where(responses.c.id == row.id).values(request=sealed))


def _box_for(box: SecretBox | None) -> SecretBox:
    if box is None:
        raise RuntimeError(
            "this migration encrypts stored credentials: give migrate() the server's SecretBox"
        )
    return box


def _v12_vector_store_files_by_file(conn: Connection) -> None:
    # Deleting a file finds every store it is attached to by its id alone: without this index
    # that read scanned the owner's stores.
    conn.execute(sa.text("CREATE INDEX ix_vector_store_files_file ON vector_store_files (id)"))


def _v13_redact_stored_mcp_urls(conn: Connection) -> None:
    # A stored response echoes its tools; an mcp tool's server_url was kept as sent, credentials
    # in its userinfo or query included. Rewritten as responses now store it (`redact_mcp_tool`).
    responses = sa.table("responses", sa.column("id"), sa.column("response", sa.JSON))
    mentions_url = sa.cast(responses.c.response, sa.Text).like('%"server_url"%')
    ids = list(conn.execute(sa.select(responses.c.id).where(mentions_url)).scalars())
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(
            sa.select(responses.c.id, responses.c.response).where(responses.c.id.in_(chunk))
        ).all():
            tools = row.response.get("tools") or []
            redacted = [
                redact_mcp_tool(t) if isinstance(t, dict) and t.get("type") == "mcp" else t for t in tools
            ]
            if redacted != tools:
                conn.execute(
                    responses.update()
                    .where(responses.c.id == row.id)
                    .values(response={**row.response, "tools": redacted})
                )


def _v14_encrypt_tool_group_uris(conn: Connection, box: SecretBox | None) -> None:
    # A tool group's MCP server URI may carry credentials (userinfo, `?api_key=`, a token in the
    # path): sealed into `mcp_uri`, leaving in `mcp_endpoint.uri` only its scheme and host.
    # Sealing needs only the current key: groups whose credentials another key sealed are
    # migrated too.
    conn.execute(sa.text("ALTER TABLE tool_groups ADD COLUMN mcp_uri TEXT"))
    groups = sa.table(
        "tool_groups", sa.column("id"), sa.column("mcp_endpoint", sa.JSON), sa.column("mcp_uri")
    )
    for row in conn.execute(
        sa.select(groups.c.id, groups.c.mcp_endpoint).where(groups.c.mcp_endpoint.is_not(None))
    ).all():
        if not isinstance(row.mcp_endpoint, dict) or not isinstance(row.mcp_endpoint.get("uri"), str):
            continue  # a JSON null
        uri = row.mcp_endpoint["uri"]
        sealed = _box_for(box).seal(uri, f"tool_groups.mcp_uri:{row.id}")
        conn.execute(
            groups.update()
            .where(groups.c.id == row.id)
            .values(mcp_endpoint={**row.mcp_endpoint, "uri": redact_tool_uri(uri)}, mcp_uri=sealed)
        )


def _v15_batches(conn: Connection) -> None:
    md = sa.MetaData()
    table = sa.Table(
        "batches",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch", sa.JSON, nullable=False),
    )
    sa.Index("ix_batches_order", table.c.owner, table.c.created_at, table.c.id)
    md.create_all(conn)


def _v16_message_batches(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE batches ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'openai'"))
    conn.execute(sa.text("ALTER TABLE batches ADD COLUMN requests JSON"))
    conn.execute(sa.text("ALTER TABLE batches ADD COLUMN results JSON"))
    conn.execute(sa.text("CREATE INDEX ix_batches_kind_order ON batches (kind, owner, created_at, id)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "models registry", _v1_models),
    Migration(2, "stored chat completions", _v2_chat_completions),
    Migration(3, "files", _v3_files),
    Migration(4, "background jobs with leases", _v4_jobs),
    Migration(5, "stored Google interactions", _v5_interactions),
    Migration(6, "vector stores, their files, file batches and chunks", _v6_vector_stores),
    Migration(7, "tool groups", _v7_tool_groups),
    Migration(8, "stored responses (Responses API)", _v8_responses),
    Migration(9, "conversations and their items", _v9_conversations),
    Migration(10, "the job running a background Google interaction", _v10_interaction_jobs),
    Migration(11, "stored credentials encrypted", _v11_encrypt_secrets, encrypts=True),
    Migration(12, "vector store files found by file id", _v12_vector_store_files_by_file),
    Migration(13, "no credentials in the mcp tools of stored responses", _v13_redact_stored_mcp_urls),
    Migration(14, "tool group URIs encrypted", _v14_encrypt_tool_group_uris, encrypts=True),
    Migration(15, "batches (OpenAI Batches API)", _v15_batches),
    Migration(16, "Anthropic message batches in the batches table", _v16_message_batches),
)

_versions = sa.Table(
    "ogx_schema_versions",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(256), nullable=False),
    sa.Column("applied_at", sa.Integer, nullable=False),
)


async def migrate(
    engine: AsyncEngine, migrations: tuple[Migration, ...] = MIGRATIONS, *, box: SecretBox | None = None
) -> list[int]:
    """Apply the migrations not yet applied; return the versions this call applied. `box` seals
    the secrets a migration encrypts (the server always gives it)."""
    async with serialized_transaction(engine, "ogx-migrations") as conn:
        return await conn.run_sync(_apply_pending, migrations, box)


def _apply_pending(conn: Connection, migrations: tuple[Migration, ...], box: SecretBox | None) -> list[int]:
    _versions.metadata.create_all(conn)
    applied = set(conn.execute(sa.select(_versions.c.version)).scalars())
    done = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in applied:
            continue
        args: tuple[Any, ...] = (conn, box) if migration.encrypts else (conn,)
        migration.apply(*args)
        conn.execute(
            _versions.insert().values(
                version=migration.version, description=migration.description, applied_at=int(time.time())
            )
        )
        done.append(migration.version)
    return done
