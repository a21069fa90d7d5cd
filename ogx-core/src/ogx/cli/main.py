"""The `ogx` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from ogx import __version__
from ogx.server.heap import collect_less_until_ready


def main(argv: list[str] | None = None) -> int:
    # First, so the imports below (most of a start-up's time) run with fewer collections;
    # `ogx run` restores the collector's thresholds once the server is ready.
    collect_less_until_ready()
    from ogx.config import ConfigError

    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    level = os.environ.get("OGX_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        # httpx logs every backend request at INFO: a log line and ~15 µs per proxied request.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # the same, per MCP request
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    from ogx.cli.targets import DEFAULT_TARGET

    parser = argparse.ArgumentParser(prog="ogx", description="OGX, an AI application server.")
    parser.add_argument("--version", action="version", version=f"ogx {__version__}")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="run the server")
    run.add_argument(
        "target",
        nargs="?",
        default=DEFAULT_TARGET,
        help="a run-config file or a distribution name (default: starter)",
    )
    run.add_argument("--host", help="address to listen on (default: the config's server.host)")
    run.add_argument("--port", type=int, help="port to listen on (default: the config's server.port)")
    run.add_argument("--workers", type=int, help="worker processes (default: the config's server.workers)")
    run.add_argument("--access-log", action="store_true", help="log every request")
    run.set_defaults(handler=_run)

    providers = commands.add_parser(
        "providers", help="list installed provider types and where they come from"
    )
    providers.add_argument("--json", action="store_true", help="print JSON instead of a table")
    providers.set_defaults(handler=_providers)

    distros = commands.add_parser("distros", help="list distributions (named run configs)")
    distros.add_argument("--json", action="store_true", help="print JSON instead of a table")
    distros.set_defaults(handler=_distros)

    config = commands.add_parser("config", help="work with run configs").add_subparsers(
        title="config commands"
    )
    check = config.add_parser("check", help="validate a run config against the installed plugins")
    check.add_argument("file", help="a run-config file or a distribution name")
    check.set_defaults(handler=_config_check)
    return parser


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from ogx.cli.targets import load_target
    from ogx.plugins import PluginManager
    from ogx.providers.resolver import prepare_providers

    plugins = PluginManager()
    config = load_target(args.target, plugins)
    prepare_providers(
        config, plugins, source=args.target
    )  # fail here, with every problem, before any worker starts
    os.environ["OGX_RUN_TARGET"] = args.target
    uvicorn.run(
        "ogx.server.factory:create_app_from_environment",
        factory=True,
        host=args.host or config.server.host,
        port=args.port if args.port is not None else config.server.port,
        workers=args.workers or config.server.workers,
        loop="uvloop",
        http="httptools",
        access_log=args.access_log,
        log_level=os.environ.get("OGX_LOG_LEVEL", "info").lower(),
        timeout_graceful_shutdown=5,
    )
    return 0


def _providers(args: argparse.Namespace) -> int:
    from ogx.plugins import PluginManager

    plugins = PluginManager()
    rows = [
        {
            "provider_type": t,
            "api": s.spec.api.value,
            "distribution": s.plugin.distribution,
            "version": s.plugin.version,
            "plugin": s.plugin.name,
            "status": "loaded",
        }
        for t, s in sorted(plugins.provider_specs.items())
    ]
    rows += [
        {
            "provider_type": "?",
            "api": "?",
            "distribution": f.distribution,
            "version": f.version,
            "plugin": f.name,
            "status": f"failed: {f.error}",
        }
        for f in plugins.failures
    ]
    _emit(
        args,
        rows,
        "Installed providers",
        ["provider_type", "api", "distribution", "version", "plugin", "status"],
    )
    return 0


def _distros(args: argparse.Namespace) -> int:
    from ogx.plugins import PluginManager

    plugins = PluginManager()
    rows = [
        {"name": name, "description": d.description, "distribution": p.distribution, "plugin": p.name}
        for name, (d, p) in sorted(plugins.distributions.items())
    ]
    _emit(args, rows, "Distributions", ["name", "description", "distribution", "plugin"])
    return 0


def _config_check(args: argparse.Namespace) -> int:
    from ogx.cli.targets import load_target
    from ogx.encryption import configured_key, previous_keys
    from ogx.plugins import PluginManager
    from ogx.providers.resolver import prepare_providers

    plugins = PluginManager()
    config = load_target(args.file, plugins)
    prepared = prepare_providers(config, plugins, source=args.file)
    configured_key(config.server.secret_key)  # a malformed secret key is reported here too
    previous_keys(config.server.previous_secret_keys)
    print(f"{args.file}: OK ({len(prepared)} providers, {len(config.registered_resources.models)} models)")
    return 0


def _emit(args: argparse.Namespace, rows: list[dict[str, str]], title: str, columns: list[str]) -> None:
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    Console().print(table)
