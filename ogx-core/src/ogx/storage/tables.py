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

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("expires_at", sa.BigInteger, nullable=True),  # unix seconds; null: never
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(256), nullable=False),
    sa.Column("provider_id", sa.String(128), nullable=False),  # the files provider holding the bytes
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(128), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued, running, succeeded, failed, cancelled
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("lease_owner", sa.String(256), nullable=True),  # the worker running it
    sa.Column("lease_expires_at", sa.Float, nullable=True),  # unix seconds, as are the times below
    sa.Column("run_after", sa.Float, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
)

interactions = sa.Table(  # Google Interactions API (`store` true, the default)
    "interactions",
    metadata,
    sa.Column("id", sa.String(256), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("model", sa.String(512), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("interaction", sa.JSON, nullable=False),  # the resource as GET returns it
    sa.Column("input", sa.JSON, nullable=True),  # the request's `input`, for `include_input`
    sa.Column("history", sa.JSON, nullable=False),  # turns up to and including this one's outputs
    sa.Column("job_id", sa.String(64), nullable=True),  # the job running a background interaction
)

vector_stores = sa.Table(
    "vector_stores",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("provider_id", sa.String(128), nullable=False),  # the vector_io provider holding its index
    sa.Column("embedding_model", sa.String(512), nullable=False),
    sa.Column("embedding_dimension", sa.Integer, nullable=False),
    sa.Column("expires_after", sa.JSON, nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=True),  # unix seconds
    sa.Column("last_active_at", sa.BigInteger, nullable=False),  # unix seconds
)

vector_store_files = sa.Table(  # file counts, usage and status are computed from these rows
    "vector_store_files",
    metadata,
    sa.Column("vector_store_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),  # the file id
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # in_progress, completed, cancelled, failed
    sa.Column("last_error", sa.JSON, nullable=True),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("chunking_strategy", sa.JSON, nullable=False),
    sa.Column("usage_bytes", sa.BigInteger, nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Column("job_id", sa.String(64), nullable=True),
)

vector_store_file_batches = sa.Table(
    "vector_store_file_batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("vector_store_id", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds
    sa.Column("cancelled", sa.Boolean, nullable=False),
)

vector_store_chunks = sa.Table(  # the indexed chunks, so attribute updates re-apply without re-embedding
    "vector_store_chunks",
    metadata,
    sa.Column("vector_store_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("file_id", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("embedding", sa.LargeBinary, nullable=False),  # little-endian float32
    sa.Column("metadata", sa.JSON, nullable=False),
)

tool_groups = sa.Table(
    "tool_groups",
    metadata,
    sa.Column("id", sa.String(256), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("provider_id", sa.String(128), nullable=False),
    sa.Column("mcp_endpoint", sa.JSON, nullable=True),  # {"uri" (`redact_tool_uri`), "transport"}
    sa.Column("args", sa.JSON, nullable=False),  # redacted (`ogx.redaction.redact_tool_args`)
    sa.Column(
        "secrets", sa.Text, nullable=True
    ),  # the args with `authorization`, encrypted (`ogx.encryption`)
    sa.Column("mcp_uri", sa.Text, nullable=True),  # the endpoint's real URI, encrypted
)

conversations = sa.Table(  # OpenAI Conversations API
    "conversations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("metadata", sa.JSON, nullable=False),
)

conversation_items = sa.Table(
    "conversation_items",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds, increasing per conversation
    sa.Column("item", sa.JSON, nullable=False),  # the item as OpenAI returns it (`ConversationItem`)
)

responses = sa.Table(  # Responses API (`store` true, the default)
    "responses",
    metadata,
    sa.Column("id", sa.String(256), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("model", sa.String(512), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),  # the object as GET returns it
    sa.Column("input_items", sa.JSON, nullable=False),  # this request's input, as items
    sa.Column("messages", sa.JSON, nullable=False),  # the chat history to continue from
    sa.Column("request", sa.JSON, nullable=True),  # a background response's request body, encrypted
    sa.Column("job_id", sa.String(64), nullable=True),  # a background response's job
)

batches = sa.Table(  # OpenAI Batches API and Anthropic Message Batches
    "batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # nanoseconds: a total order
    sa.Column("owner", sa.String(256), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # also in `batch`; here for conditional updates
    sa.Column("batch", sa.JSON, nullable=False),  # the object as GET returns it
    sa.Column("kind", sa.String(16), nullable=False, server_default="openai"),  # or "anthropic"
    sa.Column("requests", sa.JSON, nullable=True),  # an Anthropic batch's requests (OpenAI's: a file)
    sa.Column("results", sa.JSON, nullable=True),  # an ended Anthropic batch's results
)
