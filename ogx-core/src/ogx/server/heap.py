"""The garbage collector around start-up: fewer collections while the server starts, and the
start-up heap kept out of full collections once it is ready.

Start-up (imports, pydantic schemas, routes, providers) allocates ~120,000 long-lived container
objects. With Python's default thresholds (700, 10, 10) the collector ran ~260 young and 2 full
collections during the imports alone, each walking an ever larger heap: 150-200 ms of a ~1 s
start, for almost no garbage (measured with `gc.callbacks`; bench/README.md). A young threshold
of 10,000 until ready leaves a few young collections and no full one.

Once ready, the heap is frozen. A full collection walks every object, about 80 ms of CPU with
the event loop stopped, and under load it runs about once a second: objects of requests in
flight live long enough to reach the oldest generation and trigger it. Frozen, the start-up
objects are skipped; a full collection then walks only what was made since (~2 ms under load,
measured)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

STARTUP_YOUNG_THRESHOLD = 10_000
_thresholds_before_startup: tuple[int, int, int] | None = None


def collect_less_until_ready() -> None:
    """Raise the young generation's threshold until `frozen_startup_heap` runs. Called before the
    app's modules are imported: first thing by the `ogx` command, and by uvicorn's factory in
    each `--workers` process."""
    global _thresholds_before_startup
    if _thresholds_before_startup is None:
        _thresholds_before_startup = gc.get_threshold()  # type: ignore[assignment]
        young, *older = gc.get_threshold()
        gc.set_threshold(max(young, STARTUP_YOUNG_THRESHOLD), *older)


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    """Freeze what exists now for as long as the server runs; unfreeze at shutdown, so what the
    app held can be collected (tests start many apps in one process).

    Only the young generations are collected first (a few ms): what they hold is mostly fresh,
    and with the raised start-up threshold it may be a few thousand objects of garbage that
    freezing would keep forever. A full collection would find ~100 more unreachable objects and
    cost ~80 ms of start-up time."""
    global _thresholds_before_startup
    gc.collect(1)
    gc.freeze()
    if _thresholds_before_startup is not None:
        gc.set_threshold(*_thresholds_before_startup)
        _thresholds_before_startup = None
    try:
        yield
    finally:
        gc.unfreeze()
