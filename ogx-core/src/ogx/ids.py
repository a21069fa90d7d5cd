"""Random object ids. The bytes come from `os.urandom` like `secrets.token_hex`'s, but one system
call makes ids for 4 KiB at a time, kept per size in a deque: taking one is a `popleft`, atomic
without a lock, which is measurable on the request path (an id per Anthropic message, chat
completion and response item)."""

from __future__ import annotations

import os
from collections import deque

_POOL_BYTES = 4096

_pools: dict[int, deque[str]] = {}


def random_hex(nbytes: int) -> str:
    """`nbytes` random bytes as hex (twice `nbytes` characters)."""
    pool = _pools.get(nbytes)
    if pool:
        try:
            return pool.popleft()
        except IndexError:  # another thread took the last one
            pass
    return _refill(nbytes)


def _refill(nbytes: int) -> str:
    width = 2 * nbytes
    text = os.urandom(max(_POOL_BYTES // nbytes, 1) * nbytes).hex()
    # Two threads refilling at once each add ids of their own bytes: none is handed out twice.
    _pools.setdefault(nbytes, deque()).extend(text[i : i + width] for i in range(width, len(text), width))
    return text[:width]


def _forget_pools() -> None:
    # A forked worker must not hand out the ids its parent (or a sibling) will also hand out.
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools)


def new_id(prefix: str, nbytes: int = 24) -> str:
    """`prefix_<hex>`, the shape of OpenAI's item and object ids."""
    return f"{prefix}_{random_hex(nbytes)}"
