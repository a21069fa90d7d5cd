"""Tool groups: what `POST /v1/toolgroups` registers (persisted, with an owner) and what the run
config declares (`registered_resources.tool_groups`, visible to all, not deletable).

A group names a tool-runtime provider and, for MCP, the server: `mcp_endpoint.uri` plus
`args.headers` and `args.authorization`. The authorization is a secret: stored, sent to the
server, never returned (`to_api` redacts it and any header whose name says it is a credential).

At rest the args (headers and authorization included) are encrypted (`ogx.encryption`, column
`secrets`), and so is the MCP server's URI (column `mcp_uri`: its userinfo, query or path may
carry credentials). Columns `args` and `mcp_endpoint` keep only redacted copies (of the URI, the
scheme and host), shown when the sealed values cannot be decrypted. The URI is sealed on its own rather than inside `secrets` so that
migration 14 only had to seal, never to open what another key may have sealed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field, SecretStr, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.deferred import DeferredModel
from ogx.encryption import SecretBox, SecretUnreadable, key_id_of
from ogx.redaction import REDACTED, redact_json, redact_tool_args, redact_tool_uri
from ogx.storage import tables
from ogx_api import Conflict, InvalidRequest, NotFound
from ogx_api.redaction import redact_url
from ogx_api.tools import McpEndpoint

_table = tables.tool_groups
_SEALED = (_table.c.secrets, _table.c.mcp_uri)  # each bound to `sealed_place(column, id)`

TOOLGROUP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class McpEndpointBody(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1, max_length=2048)
    transport: Literal["auto", "streamable_http", "sse"] = "auto"


class RegisterToolGroupRequest(DeferredModel):
    """The body of `POST /v1/toolgroups`."""

    model_config = ConfigDict(extra="forbid")

    toolgroup_id: str = Field(min_length=1, max_length=256, pattern=TOOLGROUP_ID_PATTERN)
    provider_id: str = Field(min_length=1)
    mcp_endpoint: McpEndpointBody | None = None
    args: dict[str, Any] | None = Field(
        default=None,
        description="`headers` (an object of strings) and `authorization` (a token sent as "
        "`Authorization: Bearer …`, never returned) reach the MCP server; the rest is kept.",
    )


@dataclass(frozen=True)
class ToolGroup:
    id: str
    provider_id: str
    endpoint: McpEndpoint | None
    args: dict[str, Any]  # without `authorization` (the redacted copy when `unreadable`)
    owner: str | None
    created_at_ns: int
    declared: bool = False  # from the run config
    # why its stored secrets could not be decrypted (endpoint: the redacted URI, no credentials)
    unreadable: str | None = None

    def usable_endpoint(self) -> McpEndpoint | None:
        """The endpoint to call. `SecretUnreadable` when the stored credentials could not be
        decrypted: calling without them would fail obscurely, or pass as someone else."""
        if self.unreadable is not None:
            raise SecretUnreadable(self.unreadable, param="toolgroup_id")
        return self.endpoint

    def to_api(self) -> dict[str, Any]:
        """The `ToolGroup` object (llama-stack's shape), secrets redacted."""
        args = dict(self.args)
        if self.endpoint is not None and self.endpoint.authorization is not None:
            args["authorization"] = REDACTED
        endpoint = None
        if self.endpoint is not None:
            endpoint = {"uri": redact_url(self.endpoint.uri)}
            if self.endpoint.transport != "auto":
                endpoint["transport"] = self.endpoint.transport
        return {
            "identifier": self.id,
            "provider_resource_id": self.id,
            "provider_id": self.provider_id,
            "type": "tool_group",
            "mcp_endpoint": endpoint,
            "args": redact_json(args) if args else None,
        }


def build_group(
    request: RegisterToolGroupRequest, *, owner: str | None, created_at_ns: int, declared: bool = False
) -> ToolGroup:
    """A `ToolGroup` from a registration body; a clear `InvalidRequest` for bad headers."""
    args = dict(request.args or {})
    authorization = args.pop("authorization", None)
    endpoint = None
    if request.mcp_endpoint is not None:
        headers = args.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise InvalidRequest("args.headers must be an object of strings", param="args.headers")
        if authorization is not None and not isinstance(authorization, str):
            raise InvalidRequest("args.authorization must be a string", param="args.authorization")
        try:
            endpoint = McpEndpoint(
                uri=request.mcp_endpoint.uri,
                headers=headers,
                authorization=SecretStr(authorization) if authorization else None,
                transport=request.mcp_endpoint.transport,
            )
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise InvalidRequest(f"args.headers: {message}", param="args.headers") from None
    elif authorization is not None:
        raise InvalidRequest(
            "args.authorization is for an MCP server: give mcp_endpoint too", param="args.authorization"
        )
    return ToolGroup(
        id=request.toolgroup_id,
        provider_id=request.provider_id,
        endpoint=endpoint,
        args=args,
        owner=owner,
        created_at_ns=created_at_ns,
        declared=declared,
    )


class ToolGroupStore:
    """Registered tool groups in table `tool_groups`; reads filter by owner."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def insert(self, group: ToolGroup) -> None:
        endpoint = group.endpoint
        args = dict(group.args)
        if endpoint is not None and endpoint.authorization is not None:
            args["authorization"] = endpoint.authorization.get_secret_value()
        row = {
            "id": group.id,
            "owner": group.owner,
            "created_at": group.created_at_ns,
            "provider_id": group.provider_id,
            "mcp_endpoint": None
            if endpoint is None
            else {"uri": redact_tool_uri(endpoint.uri), "transport": endpoint.transport},
            "mcp_uri": None
            if endpoint is None
            else self._box.seal(endpoint.uri, sealed_place("mcp_uri", group.id)),
            "args": redact_tool_args(args),
            "secrets": self._box.seal(args, sealed_place("secrets", group.id)) if args else None,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_table.insert().values(**row))
        except IntegrityError:
            raise Conflict(f"tool group {group.id!r} already exists", param="toolgroup_id") from None

    async def reseal(self) -> int:
        """Re-encrypt with the current key the values a previous key sealed; how many groups. One
        that cannot be opened is left for its reads to report."""
        resealed: set[str] = set()
        for column in _SEALED:
            query = sa.select(_table.c.id, column.label("sealed")).where(column.is_not(None))
            async with self._engine.connect() as conn:
                stale = [row for row in await conn.execute(query) if self._box.stale(row.sealed)]
            for row in stale:
                place = sealed_place(column.name, row.id)
                try:
                    fresh = self._box.seal(self._box.open(row.sealed, place, what="credentials"), place)
                except SecretUnreadable:
                    continue
                unchanged = sa.and_(_table.c.id == row.id, column == row.sealed)
                async with self._engine.begin() as conn:  # unless another worker re-sealed it first
                    update = _table.update().where(unchanged).values({column.name: fresh})
                    if (await conn.execute(update)).rowcount:
                        resealed.add(row.id)
        return len(resealed)

    async def foreign_keys(self) -> Counter[str]:
        """How many registered groups each other key sealed a value of (by key id)."""
        query = sa.select(*_SEALED)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        foreign: Counter[str] = Counter()
        for row in rows:
            foreign.update({key_id_of(sealed) for sealed in row} - {None, self._box.key_id})
        return foreign

    async def list(self, owner: str | None) -> list[ToolGroup]:
        query = sa.select(_table).where(_visible(owner)).order_by(_table.c.created_at, _table.c.id)
        async with self._engine.connect() as conn:
            return [_group(row, self._box) for row in await conn.execute(query)]

    async def get(self, group_id: str, owner: str | None) -> ToolGroup | None:
        query = sa.select(_table).where(_table.c.id == group_id, _visible(owner))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _group(row, self._box)

    async def delete(self, group_id: str, owner: str | None) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(_table.delete().where(_table.c.id == group_id, _visible(owner)))
        if result.rowcount == 0:
            raise NotFound(f"tool group {group_id!r} not found", param="toolgroup_id")


def now_ns() -> int:
    return time.time_ns()


def _visible(owner: str | None) -> sa.ColumnElement[bool]:
    return _table.c.owner.is_(None) if owner is None else _table.c.owner == owner


def sealed_place(column: str, group_id: str) -> str:
    """What a group's sealed value in `column` is bound to (`SecretBox.seal`'s `where`)."""
    return f"tool_groups.{column}:{group_id}"


def _group(row: Any, box: SecretBox) -> ToolGroup:
    # Opened on every read, as the credentials are: a worker reads its groups at most every
    # `GROUP_CACHE_SECONDS`, and opening one costs a few µs. The redacted copies stand in when a
    # value cannot be opened, so the group is still listed and shown.
    args, uri, unreadable = row.args or {}, None, None
    try:
        if row.secrets is not None:
            where = sealed_place("secrets", row.id)
            args = box.open(row.secrets, where, what=f"the credentials of tool group {row.id!r}")
        if row.mcp_uri is not None:
            where = sealed_place("mcp_uri", row.id)
            uri = box.open(row.mcp_uri, where, what=f"the MCP server URL of tool group {row.id!r}")
    except SecretUnreadable as exc:
        args, uri, unreadable = row.args or {}, None, exc.message
    args = dict(args)
    authorization = None if unreadable else args.pop("authorization", None)
    endpoint = None
    if row.mcp_endpoint is not None:
        endpoint = McpEndpoint(
            uri=uri or row.mcp_endpoint["uri"],
            headers={} if unreadable else args.get("headers") or {},
            authorization=SecretStr(authorization) if authorization else None,
            transport=row.mcp_endpoint.get("transport", "auto"),
        )
    return ToolGroup(
        id=row.id,
        provider_id=row.provider_id,
        endpoint=endpoint,
        args=args,
        owner=row.owner,
        created_at_ns=row.created_at,
        unreadable=unreadable,
    )
