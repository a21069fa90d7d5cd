"""One llama.cpp model shared by concurrent requests without blocking the event loop.

A llama.cpp context is not thread-safe and generates for one request at a time, so every call
that touches it runs in one dedicated worker thread, in arrival order: requests queue, and at
most `max_queue` are admitted at once (running + waiting); the next is refused with a 429.
The C code releases the GIL while it evaluates, so the event loop keeps serving meanwhile.

A stream is iterated in the worker and its items handed to the loop one by one through an
`asyncio.Queue` (nothing is buffered into a whole answer). Each request has a `Run`: its cancel
flag, which the worker checks between tokens (a client that stops reading or disconnects stops
generation within a token), and its exact token counts, which llama-cpp-python reports only for
answers that are not streamed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from llama_cpp import Llama, llama_cpp

from ogx_api import ProviderUnavailable, RateLimited
from ogx_llama_cpp.grammar import GrammarGuide

T = TypeVar("T")

_ITEM, _ERROR, _END = range(3)


class Run:
    """One request's generation: its cancel flag, its token counts (exact: counted from the
    tokens llama.cpp evaluated and sampled, the way llama-cpp-python counts `usage`) and the
    GBNF grammar its output must follow, if any."""

    __slots__ = ("_cancelled", "completion_tokens", "grammar", "prompt_tokens")

    def __init__(self, grammar: str | None = None) -> None:
        self._cancelled = threading.Event()
        self.grammar = grammar
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class TrackedLlama(Llama):
    """`Llama` whose token generator counts tokens into, stops on the cancel flag of, and
    constrains by the grammar of the current `Run`.

    Every completion, chat or not, streamed or not, draws its tokens from `generate()`; the
    prompt it receives is the whole tokenized prompt, and each token it yields that is not an
    end-of-generation token is one completion token (llama-cpp-python stops before appending
    those). Returning early ends the completion as if the model had stopped. `generate()`
    draws each token from `sample()`, where a `GrammarGuide` checks it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._vocab: Any = llama_cpp.llama_model_get_vocab(self.model)
        self._run: Run | None = None
        self._guide: GrammarGuide | None = None

    @contextmanager
    def tracking(self, run: Run) -> Iterator[None]:
        self._run = run
        try:
            yield
        finally:
            self._run = None

    def generate(self, tokens: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        run = self._run
        if run is None:
            return super().generate(tokens, *args, **kwargs)
        if run.grammar is not None:
            kwargs["grammar"] = None  # the guide replaces llama-cpp-python's grammar sampler
        return self._tracked(run, tokens, args, kwargs)

    def _tracked(self, run: Run, tokens: Any, args: Any, kwargs: dict[str, Any]) -> Iterator[int]:
        run.prompt_tokens += len(tokens)
        if run.grammar is not None:
            self._guide = GrammarGuide(self._vocab, self.n_vocab(), run.grammar, seed=self._seed)
        inner = super().generate(tokens, *args, **kwargs)
        try:
            for token in inner:
                if run.cancelled:
                    return
                if not llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    run.completion_tokens += 1
                yield token
        finally:
            inner.close()
            if self._guide is not None:
                self._guide.close()
                self._guide = None

    def sample(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        token = super().sample(*args, **kwargs)
        guide = self._guide
        if guide is None:
            return token
        idx = kwargs.get("idx")
        logits = llama_cpp.llama_get_logits_ith(self.ctx, -1 if idx is None else idx - self.n_tokens)
        return guide.constrain(token, logits, kwargs, self._input_ids)


class Worker:
    """The single thread that owns the llama.cpp contexts, with a bounded admission count."""

    def __init__(self, *, max_queue: int, name: str = "ogx-llama-cpp") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._max_queue = max_queue
        self._lock = threading.Lock()
        self._admitted: set[Run] = set()
        self._closed = False

    @property
    def admitted(self) -> int:
        """Requests running or waiting."""
        with self._lock:
            return len(self._admitted)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` in the worker, outside admission control (loading, closing, tokenizing)."""
        return await asyncio.wrap_future(self._executor.submit(fn))

    async def call(self, run: Run, fn: Callable[[], T]) -> T:
        """Run one request's `fn` in the worker when its turn comes, and return its result.
        If the caller is cancelled the run is cancelled too: a waiting request never starts, a
        running one stops at its next token."""
        future = self._submit(run, lambda: None if run.cancelled else fn())
        try:
            return await asyncio.wrap_future(future)  # type: ignore[return-value]
        except asyncio.CancelledError:
            run.cancel()
            raise

    async def stream(self, run: Run, produce: Callable[[], Iterator[T]]) -> AsyncGenerator[T, None]:
        """Iterate `produce()` in the worker and yield its items here as they come.

        Admission is checked when the stream is first iterated, so a refusal is raised before
        any item. Closing the stream early (or cancelling its consumer) cancels the run."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()

        def emit(kind: int, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is gone: nobody is reading any more
                run.cancel()

        def work() -> None:
            if run.cancelled:
                return
            iterator = produce()
            try:
                for item in iterator:
                    if run.cancelled:
                        break
                    emit(_ITEM, item)
            except Exception as exc:
                emit(_ERROR, exc)
            finally:
                # Close the generator here, in the worker, not wherever it is collected.
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
            emit(_END, None)

        future = self._submit(run, work)
        try:
            while True:
                kind, value = await queue.get()
                if kind == _ITEM:
                    yield value
                elif kind == _ERROR:
                    raise value
                else:
                    return
        finally:
            run.cancel()
            future.cancel()

    async def close(self, cleanup: Callable[[], None] | None = None) -> None:
        """Cancel every admitted run, run `cleanup` in the worker, and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            runs = list(self._admitted)
        for run in runs:
            run.cancel()
        if cleanup is not None:
            await asyncio.wrap_future(self._executor.submit(cleanup))
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    def _submit(self, run: Run, fn: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise ProviderUnavailable("the llama.cpp provider is shut down")
            if len(self._admitted) >= self._max_queue:
                raise RateLimited(
                    f"the in-process model is busy: {self._max_queue} requests are already running "
                    "or queued (max_queue); retry shortly",
                    retry_after=1.0,
                )
            self._admitted.add(run)
        future = self._executor.submit(fn)
        future.add_done_callback(lambda _: self._release(run))
        return future

    def _release(self, run: Run) -> None:
        with self._lock:
            self._admitted.discard(run)
