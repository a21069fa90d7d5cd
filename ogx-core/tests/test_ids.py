"""Object ids drawn from the pooled random source."""

from __future__ import annotations

import os
import re
import threading

from ogx.ids import new_id, random_hex


def test_ids_have_the_asked_length_and_do_not_repeat_across_pool_refills() -> None:
    ids = [random_hex(16) for _ in range(5_000)]  # 80 KB: the 4 KiB pool is refilled many times
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_request_larger_than_the_pool_is_served_whole() -> None:
    assert len(random_hex(5_000)) == 10_000


def test_threads_drawing_at_once_never_get_the_same_id() -> None:
    drawn: list[list[str]] = [[] for _ in range(8)]

    def draw(out: list[str]) -> None:
        out.extend(random_hex(8) for _ in range(20_000))  # many refills, raced

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for out in drawn for i in out]
    assert len(ids) == 160_000
    assert len(set(ids)) == len(ids)


def test_new_id_is_prefixed() -> None:
    assert re.fullmatch(r"msg_[0-9a-f]{48}", new_id("msg"))


def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    random_hex(16)  # the pool now holds ids the parent will hand out next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, random_hex(16).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert child != random_hex(16)
