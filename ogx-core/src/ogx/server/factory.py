"""uvicorn's app factory for `ogx run` (the same path for `--workers N`).

It lives apart from `ogx.server.app` so that importing it is cheap: the start-up setting of the
garbage collector (`heap.collect_less_until_ready`) is then in place before the app's modules,
most of the start-up time, are imported, in the `ogx run` process and in each worker process."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ogx.server.heap import collect_less_until_ready

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app_from_environment() -> FastAPI:
    """The app for the run target the CLI passes in `OGX_RUN_TARGET`."""
    collect_less_until_ready()
    from ogx.cli.targets import load_target
    from ogx.plugins import PluginManager
    from ogx.server.app import create_app

    plugins = PluginManager(quiet=True)  # the CLI already reported plugin failures
    config = load_target(os.environ["OGX_RUN_TARGET"], plugins)
    return create_app(config, plugins=plugins)
