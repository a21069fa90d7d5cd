"""The `inline::llama-cpp` provider: a GGUF model in this process, served through
llama-cpp-python, one request at a time in a worker thread (see `engine`)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from ogx_api import (
    Api,
    BaseProvider,
    HealthState,
    HealthStatus,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
)
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelType,
    ProviderModel,
)
from ogx_api.inference.responses import ChatCompletionMessage, ChunkDelta, CompletionChoice, FinishReason
from ogx_llama_cpp import mapping
from ogx_llama_cpp.config import LlamaCppConfig
from ogx_llama_cpp.engine import Run, TrackedLlama, Worker
from ogx_llama_cpp.model_file import ensure_packaged_model

T = TypeVar("T")

# llama.cpp's LLAMA_POOLING_TYPE_MEAN: the packaged GGUF sets no pooling, which would give one
# vector per token.
_POOLING_MEAN = 1
# OpenAI's default `max_tokens` of the legacy completions endpoint.
_COMPLETION_MAX_TOKENS = 16


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _ChatCall:
    kwargs: dict[str, Any]
    forced: tuple[str, ...]  # names of the functions a grammar forces a call of
    grammar: str | None  # GBNF the answer must follow (a forced call, or JSON output)


class LlamaCppInferenceProvider(BaseProvider):
    """`InferenceProvider` over a llama-cpp-python `Llama` loaded in `start()`."""

    def __init__(self, config: LlamaCppConfig) -> None:
        self.config = config
        self._worker = Worker(max_queue=config.max_queue)
        self._llama: TrackedLlama | None = None
        self._embedder: Any = None
        self._model_path: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        if cfg.model_path is not None:
            if not cfg.model_path.is_file():
                raise ProviderUnavailable(f"model_path {str(cfg.model_path)!r} is not a file")
            path = cfg.model_path
        else:
            path = await asyncio.to_thread(ensure_packaged_model, cfg.model_cache_dir)
        self._model_path = path
        threads = cfg.n_threads or _usable_cores()
        common = {
            "model_path": str(path),
            "n_ctx": cfg.n_ctx,
            "n_batch": cfg.n_batch,
            "n_threads": threads,
            "n_threads_batch": threads,
            "verbose": False,
        }
        # Loading reads the file and allocates the context: do it in the worker that will own it.
        try:
            self._llama = await self._worker.run(lambda: TrackedLlama(chat_format=cfg.chat_format, **common))
            if cfg.embedding:
                from llama_cpp import Llama

                self._embedder = await self._worker.run(
                    lambda: Llama(embedding=True, pooling_type=_POOLING_MEAN, **common)
                )
        except ValueError as exc:
            await self.close()
            raise ProviderUnavailable(f"llama.cpp cannot load the model {str(path)!r}: {exc}") from exc
        if cfg.chat_format is not None:
            from llama_cpp.llama_chat_format import get_chat_completion_handler

            try:
                get_chat_completion_handler(cfg.chat_format)
            except ValueError as exc:
                await self.close()
                raise ProviderUnavailable(f"chat_format {cfg.chat_format!r}: {exc}") from exc

    async def close(self) -> None:
        def free() -> None:
            for model in (self._llama, self._embedder):
                if model is not None:
                    model.close()
            self._llama = self._embedder = None

        await self._worker.close(free)

    async def health(self) -> HealthStatus:
        if self._llama is None:
            return HealthStatus(status=HealthState.error, message="the model is not loaded")
        return HealthStatus(status=HealthState.ok)

    # -- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ProviderModel]:
        llama = self._loaded()
        models = [
            ProviderModel(
                provider_model_id=self.config.model_alias,
                metadata={"context_length": llama.n_ctx()},
            )
        ]
        if self._embedder is not None:
            models.append(
                ProviderModel(
                    provider_model_id=self.config.embedding_model_alias,
                    model_type=ModelType.embedding,
                    metadata={
                        "embedding_dimension": self._embedder.n_embd(),
                        "context_length": llama.n_ctx(),
                    },
                )
            )
        return models

    # -- chat ----------------------------------------------------------------------------------

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        llama = self._loaded()
        call = self._chat_call(request)
        run = Run(call.grammar)
        result: Any = await self._call(
            run, lambda: llama.create_chat_completion(**call.kwargs), "messages", llama
        )
        choice = result["choices"][0]
        raw = choice["message"]
        message: ChatCompletionMessage = {"role": "assistant", "content": raw.get("content")}
        finish: FinishReason | None = choice.get("finish_reason")
        if call.forced:
            parser = mapping.ForcedToolCall(call.forced)
            parser.feed(raw.get("content") or "")
            tool_call = parser.call()
            message = {"role": "assistant", "content": None}
            if tool_call is not None:
                message["tool_calls"] = [tool_call]
            finish = "tool_calls" if finish == "stop" else finish
        elif calls := mapping.tool_calls(raw.get("tool_calls")):
            message["tool_calls"] = [*calls]
            finish = "tool_calls" if finish in ("stop", None) else finish
        return {
            "id": mapping.new_id("chatcmpl"),
            "object": "chat.completion",
            "created": mapping.now(),
            "model": request.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": mapping.usage(run.prompt_tokens, run.completion_tokens),
        }

    async def chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        llama = self._loaded()
        call = self._chat_call(request)
        run = Run(call.grammar)
        ident, created, model = mapping.new_id("chatcmpl"), mapping.now(), request.model

        def chunk(delta: ChunkDelta, finish: FinishReason | None = None) -> ChatCompletionChunk:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }

        def produce() -> Iterator[Any]:
            with llama.tracking(run):
                try:
                    chunks = llama.create_chat_completion(stream=True, **call.kwargs)
                except ValueError as exc:
                    # Some tool-calling chat formats (chatml-function-calling) cannot stream
                    # `tool_choice` auto: answer whole, as one chunk.
                    if "tools" not in call.kwargs or "stream" not in str(exc):
                        raise
                    run.prompt_tokens = run.completion_tokens = 0  # count the answer, not the attempt
                    chunks = [mapping.as_chunk(llama.create_chat_completion(**call.kwargs))]
                yield from cast(Iterator[Any], chunks)

        parser = mapping.ForcedToolCall(call.forced) if call.forced else None
        finish: FinishReason | None = None
        started = False
        async for raw in self._stream(run, produce, "messages"):
            if not started:
                # The first chunk comes after the prompt was evaluated: a refused request
                # raised before anything was yielded.
                started = True
                yield chunk({"role": "assistant", "content": "" if parser is None else None})
            for choice in raw["choices"]:
                delta = choice.get("delta") or {}
                if text := delta.get("content"):
                    if parser is None:
                        yield chunk({"content": text})
                    elif deltas := parser.feed(text):
                        yield chunk({"tool_calls": deltas})
                if delta.get("tool_calls"):
                    yield chunk({"tool_calls": mapping.tool_call_deltas(delta["tool_calls"])})
                finish = choice.get("finish_reason") or finish
        if parser is not None and finish == "stop":
            finish = "tool_calls"
        yield chunk({}, finish or "stop")
        if request.stream_options and request.stream_options.include_usage:
            yield {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": mapping.usage(run.prompt_tokens, run.completion_tokens),
            }

    def _chat_call(self, request: ChatCompletionRequest) -> _ChatCall:
        self._check_model(request.model)
        mapping.reject_logprobs(bool(request.logprobs))
        plan = mapping.plan_tools(request)
        system_role = self.config.chat_format not in mapping.FORMATS_WITHOUT_SYSTEM_ROLE
        kwargs: dict[str, Any] = {
            **mapping.sampling_options(request),
            "max_tokens": request.max_completion_tokens or request.max_tokens,
            "model": request.model,
        }
        instructions = None
        forced: tuple[str, ...] = ()
        if plan.forced:
            instructions = mapping.tool_instructions(plan.forced)
            grammar = mapping.tool_call_grammar(plan.forced)
            forced = tuple(function.name for function in plan.forced)
        else:
            grammar = mapping.response_format_grammar(request)
            if plan.handler_tools:
                kwargs["tools"] = plan.handler_tools
                kwargs["tool_choice"] = "auto"
        kwargs["messages"] = mapping.chat_messages(
            request.messages, system_role=system_role, instructions=instructions
        )
        return _ChatCall(kwargs=kwargs, forced=forced, grammar=grammar)

    # -- completions ---------------------------------------------------------------------------

    async def completion(self, request: CompletionRequest) -> Completion:
        llama = self._loaded()
        prompts, kwargs = self._completion_call(request)
        run = Run()

        def complete_all() -> list[Any]:
            return [llama.create_completion(prompt=prompt, **kwargs) for prompt in prompts]

        results = await self._call(run, complete_all, "prompt", llama)
        choices: list[CompletionChoice] = [
            {
                "index": i,
                "text": result["choices"][0]["text"],
                "finish_reason": result["choices"][0]["finish_reason"],
                "logprobs": None,
            }
            for i, result in enumerate(results)
        ]
        return {
            "id": mapping.new_id("cmpl"),
            "object": "text_completion",
            "created": mapping.now(),
            "model": request.model,
            "choices": choices,
            "usage": mapping.usage(run.prompt_tokens, run.completion_tokens),
        }

    async def completion_stream(self, request: CompletionRequest) -> AsyncIterator[Completion]:
        llama = self._loaded()
        prompts, kwargs = self._completion_call(request)
        run = Run()
        ident, created, model = mapping.new_id("cmpl"), mapping.now(), request.model

        def produce() -> Iterator[tuple[int, Any]]:
            with llama.tracking(run):
                for index, prompt in enumerate(prompts):
                    for raw in cast(
                        Iterator[Any], llama.create_completion(prompt=prompt, stream=True, **kwargs)
                    ):
                        yield index, raw

        async for index, raw in self._stream(run, produce, "prompt"):
            choice = raw["choices"][0]
            yield {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": index,
                        "text": choice["text"],
                        "finish_reason": choice["finish_reason"],
                        "logprobs": None,
                    }
                ],
            }
        if request.stream_options and request.stream_options.include_usage:
            yield {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [],
                "usage": mapping.usage(run.prompt_tokens, run.completion_tokens),
            }

    def _completion_call(self, request: CompletionRequest) -> tuple[list[str | list[int]], dict[str, Any]]:
        self._check_model(request.model)
        mapping.reject_logprobs(request.logprobs is not None)
        if request.best_of not in (None, 1):
            raise InvalidRequest("this provider generates one choice per prompt (best_of=1)", param="best_of")
        prompt = request.prompt
        prompts: list[str | list[int]]
        if isinstance(prompt, str):
            prompts = [prompt]
        elif prompt and all(isinstance(item, int) for item in prompt):
            prompts = [list(prompt)]  # type: ignore[arg-type]
        else:
            prompts = list(prompt)  # type: ignore[arg-type]
        if not prompts:
            raise InvalidRequest("prompt is empty", param="prompt")
        kwargs = {
            **mapping.sampling_options(request),
            "max_tokens": _COMPLETION_MAX_TOKENS if request.max_tokens is None else request.max_tokens,
            "echo": bool(request.echo),
            "suffix": request.suffix,
            "model": request.model,
        }
        return prompts, kwargs

    # -- embeddings ----------------------------------------------------------------------------

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        embedder = self._embedder
        if embedder is None or request.model != self.config.embedding_model_alias:
            raise self._unknown_model(request.model)
        texts = [request.input] if isinstance(request.input, str) else request.input
        if not texts or not all(isinstance(text, str) for text in texts):
            raise InvalidRequest("input must be a string or a non-empty list of strings", param="input")
        dimension = embedder.n_embd()
        if request.dimensions not in (None, dimension):
            raise InvalidRequest(f"this model's embeddings have {dimension} dimensions", param="dimensions")
        run = Run()
        vectors, tokens = await self._call(
            run,
            lambda: embedder.embed(texts, normalize=True, truncate=True, return_count=True),
            "input",
            None,
        )
        as_base64 = request.encoding_format == "base64"
        return {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
                    if as_base64
                    else [float(x) for x in vector],
                }
                for i, vector in enumerate(vectors)
            ],
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # -- plumbing ------------------------------------------------------------------------------

    def _loaded(self) -> TrackedLlama:
        if self._llama is None:
            raise ProviderUnavailable("the llama.cpp model is not loaded (the provider is not started)")
        return self._llama

    def _check_model(self, model: str) -> None:
        if model != self.config.model_alias:
            raise self._unknown_model(model)

    def _unknown_model(self, model: str) -> NotFound:
        known = [self.config.model_alias] + ([self.config.embedding_model_alias] if self._embedder else [])
        return NotFound(f"model {model!r} is not served here; this provider serves {known}", param="model")

    async def _call(self, run: Run, fn: Callable[[], T], param: str, llama: TrackedLlama | None) -> T:
        def tracked() -> T:
            if llama is None:
                return fn()
            with llama.tracking(run):
                return fn()

        try:
            return await self._worker.call(run, tracked)
        except Exception as exc:
            raise mapping.error_for(exc, param=param) from exc

    async def _stream(self, run: Run, produce: Callable[[], Iterator[T]], param: str) -> AsyncIterator[T]:
        stream = self._worker.stream(run, produce)
        try:
            while True:
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    raise mapping.error_for(exc, param=param) from exc
                yield item
        finally:
            await stream.aclose()


def create_provider(config: LlamaCppConfig, deps: dict[Api, object]) -> LlamaCppInferenceProvider:
    """The factory named in the `inline::llama-cpp` spec."""
    return LlamaCppInferenceProvider(config)
