"""The tools a response offers the model, and the server-side ones run here.

`function` tools are the client's: a call ends the loop. `file_search` is one synthetic function
(`file_search(query)`) searching every listed vector store in parallel through the vector
stores service; `mcp` servers are listed once per response (or reused from an earlier
`mcp_list_tools` item) and their tools offered under their own names, run through the tool
runtime's session (one connection per server for the whole response). A tool that fails gives
the model an error message as its result."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import SecretStr, ValidationError

from ogx.responses.items import new_id
from ogx.responses.schema import CreateResponseRequest, FileSearchTool, McpTool, ResponseFunctionTool
from ogx_api import InvalidRequest, NotFound, OGXError
from ogx_api.tools import McpEndpoint, ToolResult

logger = logging.getLogger(__name__)

FILE_SEARCH = "file_search"
_FILE_MARKER = re.compile(r"<\|(file-[A-Za-z0-9_-]+)\|>")
_FILE_SEARCH_FUNCTION = {
    "type": "function",
    "function": {
        "name": FILE_SEARCH,
        "description": "Search the user's files (vector stores) for passages relevant to a query.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to search for."}},
            "required": ["query"],
        },
    },
}


@dataclass
class ToolServices:
    """What server-side tools reach (each None when the server has it not)."""

    vector_stores: Any = (
        None  # `search(vector_store_id, *, query, filters, max_num_results, ranking_options, owner)`
    )
    tools: Any = None  # `endpoint_for_connector(id, owner)`, `check_url(url)`, `mcp_runtime()`
    mcp_runtime: Any = None  # a ToolRuntimeProvider, when no tools service provides one


@dataclass
class McpServer:
    tool: McpTool
    endpoint: McpEndpoint
    tools: dict[str, dict[str, Any]]  # name -> the listed tool (name, description, input_schema)


class Toolbox:
    def __init__(self, body: CreateResponseRequest, services: ToolServices, owner: str | None) -> None:
        self.body = body
        self.services = services
        self.owner = owner
        self.functions = {t.name: t for t in body.tools or () if isinstance(t, ResponseFunctionTool)}
        self.file_search = next((t for t in body.tools or () if isinstance(t, FileSearchTool)), None)
        self.mcp_tools = [t for t in body.tools or () if isinstance(t, McpTool)]
        self.servers: dict[str, McpServer] = {}  # by server_label
        self.mcp_names: dict[str, str] = {}  # tool name -> server_label
        self.search_results: list[dict[str, Any]] = []  # every file_search result of this response
        self._session: Any = None
        self._stack = contextlib.AsyncExitStack()

    # -- checks before anything runs ---------------------------------------------------------------

    async def check(self) -> None:
        """Refuse, as a 4xx, what can't work: tools whose service is missing, unknown vector
        stores, refused MCP URLs, duplicate labels."""
        if self.file_search is not None:
            stores = self.services.vector_stores
            if stores is None:
                raise InvalidRequest(
                    "tools: file_search needs the vector stores API, which this server does not run",
                    param="tools",
                )
            getter = getattr(stores, "get", None)
            if getter is not None:
                for store_id in self.file_search.vector_store_ids:
                    try:
                        await getter(store_id, owner=self.owner)
                    except NotFound:
                        raise NotFound(
                            f"tools: vector store {store_id!r} not found",
                            param="tools.vector_store_ids",
                            code="vector_store_not_found",
                        ) from None
        labels = [t.server_label for t in self.mcp_tools]
        if len(set(labels)) != len(labels):
            raise InvalidRequest("tools: two mcp tools have the same server_label", param="tools")
        if self.mcp_tools and self._runtime() is None:
            raise InvalidRequest(
                "tools: mcp tools need a tool runtime (install ogx-mcp and configure "
                "remote::model-context-protocol)",
                param="tools",
            )
        for tool in self.mcp_tools:
            await self._endpoint(tool)

    def _runtime(self) -> Any:
        tools = self.services.tools
        if tools is not None and hasattr(tools, "mcp_runtime"):
            return tools.mcp_runtime()
        return self.services.mcp_runtime

    async def _endpoint(self, tool: McpTool) -> McpEndpoint:
        tools = self.services.tools
        if tool.connector_id is not None:
            if tools is None or not hasattr(tools, "endpoint_for_connector"):
                raise InvalidRequest("tools: connectors are not available on this server", param="tools")
            endpoint = tools.endpoint_for_connector(tool.connector_id, self.owner)
            if inspect.isawaitable(endpoint):
                endpoint = await endpoint
            return endpoint.with_headers(tool.headers or {}) if tool.headers else endpoint
        assert tool.server_url is not None
        if tools is not None and hasattr(tools, "check_url"):
            await tools.check_url(tool.server_url, param="tools.server_url")
        try:
            return McpEndpoint(
                uri=tool.server_url,
                headers=tool.headers or {},
                authorization=SecretStr(tool.authorization) if tool.authorization else None,
            )
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InvalidRequest(
                f"tools: mcp server {tool.server_label!r}: {message}", param="tools"
            ) from None

    async def close(self) -> None:
        await self._stack.aclose()

    async def _tool_session(self) -> Any:
        if self._session is None:
            self._session = await self._stack.enter_async_context(self._runtime().session())
        return self._session

    # -- MCP listing -------------------------------------------------------------------------------

    async def list_mcp(
        self, tool: McpTool, known: dict[str, list[dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The server's allowed tools (from `known`, an earlier listing, when there is one) and
        the listing error, if it failed."""
        endpoint = await self._endpoint(tool)
        error = None
        listed = known.get(tool.server_label)
        if listed is None:
            try:
                session = await self._tool_session()
                defs = await session.list_tools(endpoint)
                listed = [
                    {
                        "name": d.name,
                        "description": d.description,
                        "input_schema": d.input_schema,
                        "annotations": d.annotations,
                    }
                    for d in defs
                ]
            except OGXError as exc:
                logger.info("listing the tools of MCP server %r failed: %s", tool.server_label, exc.message)
                listed, error = [], exc.message
        allowed = [t for t in listed if tool.allows(t["name"])]
        self.servers[tool.server_label] = McpServer(tool, endpoint, {t["name"]: t for t in allowed})
        for listed_tool in allowed:
            other = self.mcp_names.setdefault(listed_tool["name"], tool.server_label)
            if other != tool.server_label or listed_tool["name"] in self.functions:
                raise InvalidRequest(
                    f"tools: the tool name {listed_tool['name']!r} is offered twice (mcp server "
                    f"{tool.server_label!r} and {other!r} or a function)",
                    param="tools",
                )
        return allowed, error

    # -- what the model sees -----------------------------------------------------------------------

    def chat_tools(self) -> list[dict[str, Any]]:
        tools = [
            {
                "type": "function",
                "function": {
                    k: v
                    for k, v in {
                        "name": f.name,
                        "description": f.description,
                        "parameters": f.parameters,
                        "strict": f.strict,
                    }.items()
                    if v is not None
                },
            }
            for f in self.functions.values()
        ]
        if self.file_search is not None:
            tools.append(_FILE_SEARCH_FUNCTION)
        for server in self.servers.values():
            for tool in server.tools.values():
                function = {"name": tool["name"], "parameters": tool["input_schema"]}
                if tool.get("description"):
                    function["description"] = tool["description"]
                tools.append({"type": "function", "function": function})
        return tools

    def kind(self, name: str) -> str:
        """`function` (the client runs it; so is any name the model made up), `file_search` or `mcp`."""
        if name in self.functions:
            return "function"
        if name == FILE_SEARCH and self.file_search is not None:
            return "file_search"
        if name in self.mcp_names:
            return "mcp"
        return "function"

    def is_client_call(self, name: str) -> bool:
        return self.kind(name) == "function"

    def needs_approval(self, name: str) -> bool:
        return self.servers[self.mcp_names[name]].tool.needs_approval(name)

    def server_label(self, name: str) -> str:
        return self.mcp_names[name]

    # -- running them ------------------------------------------------------------------------------

    async def run_mcp(self, server_label: str, name: str, arguments: str) -> tuple[str | None, str | None]:
        """(output, error) of one MCP call: failures are errors the model reads, never raised."""
        server = self.servers.get(server_label)
        if server is None or name not in server.tools:
            return None, f"tool {name!r} is not available on MCP server {server_label!r}"
        try:
            parsed = orjson.loads(arguments or "{}")
            if not isinstance(parsed, dict):
                raise ValueError("the arguments are not a JSON object")
        except ValueError as exc:
            return None, f"invalid arguments: {exc}"
        try:
            session = await self._tool_session()
            result: ToolResult = await session.invoke(server.endpoint, name, parsed)
        except OGXError as exc:
            return None, exc.message
        if result.is_error:
            return None, result.as_text() or "the tool failed"
        return result.as_text(), None

    async def run_file_search(self, arguments: str) -> tuple[list[str], list[dict[str, Any]], str | None]:
        """(queries, results, error) of one file_search call."""
        tool = self.file_search
        assert tool is not None
        try:
            query = str(orjson.loads(arguments or "{}")["query"])
        except (ValueError, KeyError, TypeError):
            return [], [], "file_search needs a JSON object with a `query` string"
        limit = tool.max_num_results or 10
        ranking = tool.ranking_options.model_dump(exclude_none=True) if tool.ranking_options else None

        async def search(store_id: str) -> dict[str, Any]:
            return await self.services.vector_stores.search(
                store_id,
                query=query,
                filters=tool.filters.model_dump(mode="json") if tool.filters is not None else None,
                max_num_results=limit,
                ranking_options=ranking,
                owner=self.owner,
            )

        try:
            pages = await asyncio.gather(*(search(s) for s in tool.vector_store_ids))
        except OGXError as exc:
            return [query], [], exc.message
        results = []
        for page in pages:
            for hit in page.get("data") or ():
                text = "\n".join(
                    c.get("text", "") for c in hit.get("content") or () if c.get("type") == "text"
                )
                results.append(
                    {
                        "file_id": hit.get("file_id"),
                        "filename": hit.get("filename"),
                        "score": hit.get("score"),
                        "attributes": hit.get("attributes") or {},
                        "text": text,
                    }
                )
        results.sort(key=lambda r: r["score"] or 0.0, reverse=True)
        results = results[:limit]
        self.search_results += results
        return [query], results, None

    def annotations(self, text: str) -> list[dict[str, Any]]:
        """`file_citation`s for an answer that followed a file search: at each `<|file-…|>` marker
        the model wrote, or else every file the searches found, cited at the end of the text."""
        if not self.search_results:
            return []
        names = {r["file_id"]: r["filename"] for r in self.search_results}
        marked = [(m.start(), m.group(1)) for m in _FILE_MARKER.finditer(text) if m.group(1) in names]
        cited = marked or [(len(text), file_id) for file_id in names]
        return [
            {"type": "file_citation", "file_id": file_id, "filename": names[file_id] or "", "index": index}
            for index, file_id in cited
        ]


def file_search_message(results: list[dict[str, Any]], error: str | None) -> str:
    """The search results as the tool's answer to the model, each marked with its file."""
    if error is not None:
        return f"Error: {error}"
    if not results:
        return "No results found."
    blocks = [
        f"[{n}] <|{r['file_id']}|> {r['filename'] or ''} (score {r['score'] or 0.0:.3f})\n{r['text']}"
        for n, r in enumerate(results, 1)
    ]
    return "File search results (cite a file as <|file-id|>):\n\n" + "\n\n".join(blocks)


def new_call_item(kind: str, **fields: Any) -> dict[str, Any]:
    prefix = {
        "mcp_call": "mcp",
        "file_search_call": "fs",
        "mcp_approval_request": "mcpr",
        "mcp_list_tools": "mcpl",
    }
    return {"type": kind, "id": new_id(prefix[kind]), **fields}
