"""Random object ids. The bytes come from `os.urandom` like `secrets.token_hex`'s, but drawn from
a 4 KiB pool: one system call per 4 KiB rather than one per id, which is measurable on the
request path (an id per Anthropic message, chat completion and response item)."""

from __future__ import annotations

import os
import threading

_POOL_BYTES = 4096

_lock = threading.Lock()
_pool = b""
_offset = 0


def random_hex(nbytes: int) -> str:
    """`nbytes` random bytes as hex (twice `nbytes` characters)."""
    global _pool, _offset
    with _lock:
        end = _offset + nbytes
        if end > len(_pool):
            _pool, _offset, end = os.urandom(max(_POOL_BYTES, nbytes)), 0, nbytes
        chunk = _pool[_offset:end]
        _offset = end
    return chunk.hex()


def _forget_pool() -> None:
    # A forked worker must not hand out the ids its parent (or a sibling) will also hand out.
    global _pool, _offset
    _pool, _offset = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def new_id(prefix: str, nbytes: int = 24) -> str:
    """`prefix_<hex>`, the shape of OpenAI's item and object ids."""
    return f"{prefix}_{random_hex(nbytes)}"
