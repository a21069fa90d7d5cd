"""`inline::builtin`: a small tool runtime inside the server, with no tool server to run.

Its tools are utilities a model can use (`current_time`, `add`) and diagnostics for trying an
agent loop end to end without an MCP server (`echo`, `sleep`, `fail`). A tool group uses it with
`provider_id` set to its provider id and no `mcp_endpoint`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ogx_api import HealthState, HealthStatus, InvalidRequest, ProviderTimeout
from ogx_api.tools import McpEndpoint, StatelessToolRuntime, TextContent, ToolDef, ToolResult

PROVIDER_TYPE = "inline::builtin"


class BuiltinToolsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_timeout: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Seconds one tool call may take."
    )


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CurrentTimeArgs(_Args):
    timezone: str = Field(default="UTC", description="An IANA time zone, e.g. `Europe/Oslo`.")


class AddArgs(_Args):
    a: float = Field(description="The first number.")
    b: float = Field(description="The second number.")


class EchoArgs(_Args):
    text: str = Field(description="The text to return.")


class SleepArgs(_Args):
    seconds: float = Field(ge=0, le=3600, description="How long to wait.")


class FailArgs(_Args):
    message: str = Field(default="the tool failed", description="The error message to return.")


async def _current_time(args: CurrentTimeArgs) -> ToolResult:
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ToolResult.error(f"unknown time zone {args.timezone!r}; use an IANA name such as Europe/Oslo")
    now = dt.datetime.now(zone)
    return ToolResult(
        content=[TextContent(text=now.isoformat(timespec="seconds"))],
        structured_content={
            "iso": now.isoformat(timespec="seconds"),
            "timezone": args.timezone,
            "unix": int(now.timestamp()),
            "weekday": now.strftime("%A"),
        },
    )


async def _add(args: AddArgs) -> ToolResult:
    total = args.a + args.b
    text = str(int(total)) if total.is_integer() else repr(total)
    return ToolResult(content=[TextContent(text=text)], structured_content={"result": total})


async def _echo(args: EchoArgs) -> ToolResult:
    return ToolResult(content=[TextContent(text=args.text)])


async def _sleep(args: SleepArgs) -> ToolResult:
    await asyncio.sleep(args.seconds)
    return ToolResult(content=[TextContent(text=f"slept {args.seconds:g} s")])


async def _fail(args: FailArgs) -> ToolResult:
    return ToolResult.error(args.message)


@dataclass(frozen=True)
class _Tool:
    definition: ToolDef
    args: type[_Args]
    run: Callable[[Any], Awaitable[ToolResult]]


def _tool(
    name: str, description: str, args: type[_Args], run: Callable[[Any], Awaitable[ToolResult]]
) -> _Tool:
    schema = args.model_json_schema()
    schema.pop("title", None)
    return _Tool(ToolDef(name=name, description=description, input_schema=schema), args, run)


TOOLS: dict[str, _Tool] = {
    tool.definition.name: tool
    for tool in (
        _tool(
            "current_time",
            "The current date and time in a time zone (ISO 8601).",
            CurrentTimeArgs,
            _current_time,
        ),
        _tool("add", "Add two numbers.", AddArgs, _add),
        _tool("echo", "Return the text unchanged (a diagnostic).", EchoArgs, _echo),
        _tool("sleep", "Wait, then answer (a diagnostic for timeouts).", SleepArgs, _sleep),
        _tool(
            "fail", "Always fail with the given message (a diagnostic for error handling).", FailArgs, _fail
        ),
    )
}


class BuiltinToolRuntime(StatelessToolRuntime):
    """The `inline::builtin` tool runtime. Arguments are validated against each tool's schema;
    bad ones and unknown tools are error results."""

    def __init__(self, config: BuiltinToolsConfig) -> None:
        self.config = config
        self._definitions = [tool.definition for tool in TOOLS.values()]

    async def health(self) -> HealthStatus:
        return HealthStatus(status=HealthState.ok)

    async def list_tools(self, endpoint: McpEndpoint | None = None) -> list[ToolDef]:
        _no_endpoint(endpoint)
        return list(self._definitions)

    async def invoke(
        self, endpoint: McpEndpoint | None, tool_name: str, arguments: Mapping[str, Any]
    ) -> ToolResult:
        _no_endpoint(endpoint)
        tool = TOOLS.get(tool_name)
        if tool is None:
            return ToolResult.error(f"unknown tool {tool_name!r}; available: {', '.join(TOOLS)}")
        try:
            args = tool.args.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            return ToolResult.error(f"invalid arguments for {tool_name}: {problems}")
        try:
            async with asyncio.timeout(self.config.call_timeout):
                return await tool.run(args)
        except TimeoutError:
            raise ProviderTimeout(
                f"{tool_name} took longer than {self.config.call_timeout} s (call_timeout)"
            ) from None


def _no_endpoint(endpoint: McpEndpoint | None) -> None:
    if endpoint is not None:
        raise InvalidRequest(
            f"{PROVIDER_TYPE} serves its own tools and takes no mcp_endpoint", param="mcp_endpoint"
        )


def create_provider(config: BuiltinToolsConfig, deps: Mapping[Any, Any]) -> BuiltinToolRuntime:
    return BuiltinToolRuntime(config)
