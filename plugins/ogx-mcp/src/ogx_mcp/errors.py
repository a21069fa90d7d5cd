"""What went wrong below the SDK, as OGX's typed errors.

The SDK reports failures in several shapes: exception groups from its task groups, httpx2
exceptions, `MCPError`s it synthesises from HTTP statuses (losing the status, which the
`ConnectionGuard` keeps). Messages name the server by its redacted URL and never carry
headers or credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx2
import mcp_types
from mcp.shared.exceptions import MCPError

from ogx_api.errors import (
    Forbidden,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from ogx_mcp.http import ConnectionGuard

# JSON-RPC codes the SDK uses for its own transport failures, not the server's answers.
TRANSPORT_CODES = frozenset({mcp_types.CONNECTION_CLOSED, mcp_types.REQUEST_TIMEOUT})


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, depth first."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def status_error(status: int, server: str) -> OGXError:
    if status == 401:
        return Unauthorized(f"the MCP server at {server} refused the credentials (HTTP 401)")
    if status == 403:
        return Forbidden(f"the MCP server at {server} refused access (HTTP 403)")
    if status == 429:
        return RateLimited(f"the MCP server at {server} is rate limiting (HTTP 429)")
    if status in (502, 503, 504):
        return ProviderUnavailable(f"the MCP server at {server} is unavailable (HTTP {status})")
    return ProviderError(f"the MCP server at {server} answered HTTP {status}")


def classify(
    exc: BaseException, *, server: str, guard: ConnectionGuard | None, statuses_before: int = 0, what: str
) -> OGXError:
    """The typed error for `exc`, raised while doing `what` (e.g. "connecting", "tools/call add")."""
    if guard is not None and guard.failure is not None:
        return guard.failure
    found = list(leaves(exc))
    for leaf in found:
        if isinstance(leaf, OGXError):
            return leaf
    new_statuses = guard.error_statuses[statuses_before:] if guard is not None else []
    for leaf in found:
        if isinstance(leaf, httpx2.HTTPStatusError):
            return status_error(leaf.response.status_code, server)
    for status in new_statuses:
        if status in (401, 403, 429) or status >= 500:
            return status_error(status, server)
    for leaf in found:
        if isinstance(leaf, httpx2.ConnectTimeout | TimeoutError | asyncio.TimeoutError):
            return ProviderTimeout(f"{what} on the MCP server at {server} timed out")
        if isinstance(leaf, httpx2.TimeoutException):
            return ProviderTimeout(f"{what} on the MCP server at {server} timed out")
        if isinstance(leaf, httpx2.SSEError):
            return ProviderError(
                f"the MCP server at {server} sent an invalid or oversized event during {what}"
            )
        if isinstance(leaf, httpx2.ConnectError):
            return ProviderUnavailable(f"cannot connect to the MCP server at {server}")
        if isinstance(leaf, httpx2.TransportError):
            return ProviderUnavailable(f"the connection to the MCP server at {server} failed during {what}")
        if isinstance(leaf, MCPError):
            if leaf.code == mcp_types.REQUEST_TIMEOUT:
                return ProviderTimeout(f"{what} on the MCP server at {server} timed out")
            if leaf.code == mcp_types.CONNECTION_CLOSED:
                return ProviderUnavailable(f"the MCP server at {server} closed the connection during {what}")
            if new_statuses:
                return status_error(new_statuses[-1], server)
            return ProviderError(
                f"the MCP server at {server} answered {what} with error {leaf.code}: {leaf.message}"
            )
    names = ", ".join(sorted({type(leaf).__name__ for leaf in found}))
    return ProviderError(f"{what} on the MCP server at {server} failed ({names})")


def is_server_answer(exc: MCPError, guard: ConnectionGuard, statuses_before: int) -> bool:
    """Whether `exc` is a JSON-RPC error the server itself sent (so a tool call's error the model
    can read) rather than one the SDK made up for a transport failure. A spec-correct server may
    send its JSON-RPC error with HTTP 400; any other error status means the transport failed."""
    return (
        exc.code not in TRANSPORT_CODES
        and guard.failure is None
        and all(status == 400 for status in guard.error_statuses[statuses_before:])
    )
