"""Tool groups: what `POST /v1/toolgroups` registers (persisted, with an owner) and what the run
config declares (`registered_resources.tool_groups`, visible to all, not deletable).

A group names a tool-runtime provider and, for MCP, the server: `mcp_endpoint.uri` plus
`args.headers` and `args.authorization`. The authorization is a secret: stored, sent to the
server, never returned (`to_api` redacts it and any header whose name says it is a credential).

At rest the args (headers and authorization included) are encrypted (`ogx.encryption`, column
`secrets`); column `args` keeps only a redacted copy, shown when the secrets cannot be decrypted.
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
from ogx.redaction import REDACTED, redact_json, redact_tool_args
from ogx.storage import tables
from ogx_api import Conflict, InvalidRequest, NotFound
from ogx_api.redaction import redact_url
from ogx_api.tools import McpEndpoint

_table = tables.tool_groups

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
    unreadable: str | None = None  # why its stored secrets could not be decrypted (endpoint without them)

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
            else {"uri": endpoint.uri, "transport": endpoint.transport},
            "args": redact_tool_args(args),
            "secrets": self._box.seal(args, secrets_place(group.id)) if args else None,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_table.insert().values(**row))
        except IntegrityError:
            raise Conflict(f"tool group {group.id!r} already exists", param="toolgroup_id") from None

    async def reseal(self) -> int:
        """Re-encrypt with the current key the credentials a previous key sealed; how many. One
        that cannot be opened is left for its reads to report."""
        query = sa.select(_table.c.id, _table.c.secrets).where(_table.c.secrets.is_not(None))
        async with self._engine.connect() as conn:
            stale = [row for row in await conn.execute(query) if self._box.stale(row.secrets)]
        done = 0
        for row in stale:
            place = secrets_place(row.id)
            try:
                fresh = self._box.seal(self._box.open(row.secrets, place, what="credentials"), place)
            except SecretUnreadable:
                continue
            unchanged = sa.and_(_table.c.id == row.id, _table.c.secrets == row.secrets)
            async with self._engine.begin() as conn:  # unless another worker re-sealed it first
                done += (await conn.execute(_table.update().where(unchanged).values(secrets=fresh))).rowcount
        return done

    async def foreign_keys(self) -> Counter[str]:
        """How many registered groups' credentials each other key sealed (by key id)."""
        query = sa.select(_table.c.secrets).where(_table.c.secrets.is_not(None))
        async with self._engine.connect() as conn:
            key_ids = [key_id_of(sealed) for sealed in (await conn.execute(query)).scalars()]
        return Counter(key_id for key_id in key_ids if key_id is not None and key_id != self._box.key_id)

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


def secrets_place(group_id: str) -> str:
    """What a group's sealed args are bound to (`SecretBox.seal`'s `where`)."""
    return f"tool_groups.secrets:{group_id}"


def _group(row: Any, box: SecretBox) -> ToolGroup:
    args, unreadable = row.args or {}, None
    if row.secrets is not None:
        try:
            args = box.open(
                row.secrets, secrets_place(row.id), what=f"the credentials of tool group {row.id!r}"
            )
        except SecretUnreadable as exc:
            unreadable = exc.message
    args = dict(args)
    authorization = None if unreadable else args.pop("authorization", None)
    endpoint = None
    if row.mcp_endpoint is not None:
        endpoint = McpEndpoint(
            uri=row.mcp_endpoint["uri"],
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
