"""The inference conformance suite.

A provider proves itself by subclassing `InferenceProviderConformance` in its own tests and
supplying fixtures; every test here then runs against it::

    import pytest
    from ogx_api.testing.inference import InferenceProviderConformance

    @pytest.mark.integration
    class TestMyProviderConformance(InferenceProviderConformance):
        supports_completions = False          # opt out of what the backend cannot do

        @pytest.fixture
        async def provider(self):
            provider = MyProvider(MyConfig(...))
            await provider.start()
            yield provider
            await provider.close()

        @pytest.fixture
        def chat_model_id(self) -> str:
            return "my-chat-model"

        @pytest.fixture
        def embedding_model_id(self) -> str:
            return "my-embedding-model"

Every capability is assumed until a flag turns it off, so a gap shows up as a failure rather
than a silent skip. The tests assert shapes and behaviour, never the generated content: they
must pass against a tiny base model at temperature 0. Each docstring says what to check when
the test fails.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import pytest
from pydantic import TypeAdapter, ValidationError

from ogx_api.errors import OGXError
from ogx_api.inference import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    InferenceProvider,
    ModelType,
    ProviderModel,
)
from ogx_api.inference.assembly import with_required_fields
from ogx_api.provider import HealthState

_CHAT_COMPLETION = TypeAdapter(ChatCompletion)
_CHAT_CHUNK = TypeAdapter(ChatCompletionChunk)
_COMPLETION = TypeAdapter(Completion)
_EMBEDDINGS = TypeAdapter(EmbeddingsResponse)

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name."}},
            "required": ["city"],
        },
    },
}


def assert_shape(adapter: TypeAdapter[Any], value: Any, what: str) -> None:
    """Fail with pydantic's explanation if `value` does not have the OpenAI shape of `what`."""
    try:
        adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        pytest.fail(f"the provider's {what} does not have the OpenAI shape:\n{exc}\nvalue: {value!r:.2000}")


def assert_usage(usage: Any, *, max_completion_tokens: int | None = None) -> None:
    assert usage, "usage is missing: OpenAI-compatible backends report token usage"
    assert usage["completion_tokens"] >= 1, f"no completion tokens counted: {usage}"
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"], usage
    if max_completion_tokens is not None:
        assert usage["completion_tokens"] <= max_completion_tokens, f"max_tokens not honoured: {usage}"


async def collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


class InferenceProviderConformance:
    """Base class of a provider's inference conformance tests. See the module docstring."""

    supports_chat: ClassVar[bool] = True
    """Chat completions, from the model named by the `chat_model_id` fixture. An embeddings-only
    provider sets it False: the chat-dependent tests are skipped (no `chat_model_id` needed)
    and `test_chat_is_refused_with_a_typed_error` checks that chat fails cleanly instead."""
    supports_completions: ClassVar[bool] = True
    """The legacy `/v1/completions` endpoint (`completion`, `completion_stream`)."""
    supports_embeddings: ClassVar[bool] = True
    """Embeddings, from the model named by the `embedding_model_id` fixture."""
    supports_tools: ClassVar[bool] = True
    """Function calling with a named `tool_choice`."""
    supports_streaming_usage: ClassVar[bool] = True
    """`stream_options.include_usage` adds a final chunk carrying usage."""

    max_tokens: ClassVar[int] = 16
    """Budget of most generation requests: enough to see behaviour, short enough for CI."""

    # -- fixtures the subclass supplies --------------------------------------------------

    @pytest.fixture
    def provider(self) -> InferenceProvider:
        pytest.fail(f"{type(self).__name__} must define a `provider` fixture yielding a started provider")

    @pytest.fixture
    def chat_model_id(self) -> str:
        if not self.supports_chat:
            pytest.skip(f"{type(self).__name__}.supports_chat is False")
        pytest.fail(f"{type(self).__name__} must define a `chat_model_id` fixture (the provider's model id)")

    @pytest.fixture
    def embedding_model_id(self) -> str:
        pytest.fail(
            f"{type(self).__name__} must define an `embedding_model_id` fixture, "
            "or set `supports_embeddings = False`"
        )

    # -- request builders (override to adapt prompts, never to weaken checks) -------------

    def chat_request(self, model: str, **fields: Any) -> ChatCompletionRequest:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": "Name three colours of the rainbow."}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        return ChatCompletionRequest.model_validate(body | fields)

    def completion_request(self, model: str, **fields: Any) -> CompletionRequest:
        body: dict[str, Any] = {
            "model": model,
            "prompt": "Once upon a time, in a small village,",
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        return CompletionRequest.model_validate(body | fields)

    def invalid_chat_request(self, model: str, **fields: Any) -> ChatCompletionRequest:
        """A well-formed request every OpenAI-compatible backend must refuse: `tool_choice` names
        a function that is not among `tools`."""
        return self.chat_request(
            model,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "no_such_function"}},
            **fields,
        )

    def _require(self, *flags: str) -> None:
        for flag in flags:
            if not getattr(self, flag):
                pytest.skip(f"{type(self).__name__}.{flag} is False")

    # -- lifecycle and models ----------------------------------------------------------

    async def test_health_is_ok(self, provider: InferenceProvider) -> None:
        """`health()` reports OK for a reachable backend.

        If this fails: check that `health()` probes the backend (e.g. GET /models) with the
        provider's credentials and returns `HealthState.ok` on success."""
        status = await provider.health()
        assert status.status == HealthState.ok, status

    async def test_list_models_includes_chat_model(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """`list_models()` lists the chat model as an LLM.

        If this fails: check the parsing of the backend's model list and that `provider_model_id`
        is the id the backend expects in `request.model`."""
        self._require("supports_chat")
        models = await provider.list_models()
        assert all(isinstance(model, ProviderModel) for model in models), models
        by_id = {model.provider_model_id: model for model in models}
        assert chat_model_id in by_id, f"{chat_model_id!r} not in {sorted(by_id)}"
        assert by_id[chat_model_id].model_type == ModelType.llm

    async def test_list_models_marks_embedding_model(
        self, provider: InferenceProvider, embedding_model_id: str
    ) -> None:
        """`list_models()` lists the embedding model with `model_type` embedding, so the server
        routes `/v1/embeddings` to it.

        If this fails: check how the provider decides a model's type (for OpenAI-compatible
        backends, `describe_model()` / `embedding_model_markers`)."""
        self._require("supports_embeddings")
        by_id = {model.provider_model_id: model for model in await provider.list_models()}
        assert embedding_model_id in by_id, f"{embedding_model_id!r} not in {sorted(by_id)}"
        assert by_id[embedding_model_id].model_type == ModelType.embedding

    # -- chat ----------------------------------------------------------------------------

    async def test_chat_completion(self, provider: InferenceProvider, chat_model_id: str) -> None:
        """A chat completion has the OpenAI shape: one assistant choice with text, a finish
        reason and consistent usage.

        If this fails: check the response mapping; the validation error names the bad field."""
        self._require("supports_chat")
        response = await provider.chat_completion(self.chat_request(chat_model_id))
        assert_shape(_CHAT_COMPLETION, with_required_fields(response), "chat completion")
        assert len(response["choices"]) == 1
        choice = response["choices"][0]
        assert choice["index"] == 0
        assert choice["message"]["content"], "the assistant message has no text"
        assert choice["finish_reason"] in ("stop", "length")
        assert_usage(response.get("usage"), max_completion_tokens=self.max_tokens)

    async def test_chat_completion_honours_max_tokens(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """A tiny `max_tokens` cuts the answer short with finish_reason `length`.

        If this fails: check that `max_tokens` reaches the backend unchanged and that the
        backend's finish reason is relayed."""
        self._require("supports_chat")
        request = self.chat_request(
            chat_model_id,
            messages=[{"role": "user", "content": "Count from 1 to 100, separated by commas."}],
            max_tokens=3,
        )
        response = await provider.chat_completion(request)
        assert_shape(_CHAT_COMPLETION, with_required_fields(response), "chat completion")
        assert response["choices"][0]["finish_reason"] == "length"
        assert_usage(response.get("usage"), max_completion_tokens=3)

    async def test_chat_completion_stream(self, provider: InferenceProvider, chat_model_id: str) -> None:
        """Streaming yields well-shaped chunks of one completion whose deltas add up to text,
        the last choice carrying the finish reason.

        If this fails: check the SSE relay (one chunk per `data:` event, stop at `[DONE]`)."""
        self._require("supports_chat")
        chunks = await collect(provider.chat_completion_stream(self.chat_request(chat_model_id, stream=True)))
        assert chunks, "the stream yielded nothing"
        for chunk in chunks:
            assert_shape(_CHAT_CHUNK, chunk, "chat completion chunk")
        assert len({chunk["id"] for chunk in chunks}) == 1, "the chunks of one completion must share an id"
        text = "".join(
            choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
        )
        assert text, "the deltas carry no text"
        last_choices = [chunk["choices"][0] for chunk in chunks if chunk["choices"]]
        assert last_choices[-1]["finish_reason"] in ("stop", "length")
        assert all(choice["finish_reason"] is None for choice in last_choices[:-1]), (
            "only the last chunk may carry a finish reason"
        )

    async def test_chat_completion_stream_include_usage(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """With `stream_options.include_usage`, the stream ends with a chunk whose `choices` is
        empty and whose `usage` counts the tokens.

        If this fails: check that `stream_options` reaches the backend and that the final usage
        chunk is relayed, not dropped for having no choices."""
        self._require("supports_chat", "supports_streaming_usage")
        request = self.chat_request(chat_model_id, stream=True, stream_options={"include_usage": True})
        chunks = await collect(provider.chat_completion_stream(request))
        for chunk in chunks:
            assert_shape(_CHAT_CHUNK, chunk, "chat completion chunk")
        assert chunks and chunks[-1]["choices"] == [], "the last chunk must be the usage chunk"
        assert_usage(chunks[-1].get("usage"), max_completion_tokens=self.max_tokens)

    async def test_invalid_request_raises_typed_error(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """A request the backend refuses raises an `OGXError` (which the server turns into the
        API's error envelope), never a transport library's exception.

        If this fails: check that every backend error status is mapped through
        `ogx_api.errors.error_for_backend_status` and that the message is kept."""
        self._require("supports_chat")
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(self.invalid_chat_request(chat_model_id))
        assert 400 <= caught.value.status_code < 600
        assert caught.value.message, "the backend's message was lost"

    async def test_invalid_stream_request_raises_before_first_chunk(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """A refused streaming request raises an `OGXError` on the first chunk, with nothing
        yielded, so the server can still answer with an HTTP error.

        If this fails: check that the stream checks the backend's status before yielding."""
        self._require("supports_chat")
        request = self.invalid_chat_request(chat_model_id, stream=True)
        received: list[Any] = []
        with pytest.raises(OGXError):
            async for chunk in provider.chat_completion_stream(request):
                received.append(chunk)
        assert received == []

    async def test_chat_is_refused_with_a_typed_error(
        self, provider: InferenceProvider, embedding_model_id: str
    ) -> None:
        """A provider without chat (`supports_chat = False`) refuses chat and streamed chat with
        an `OGXError` (e.g. 501) before anything is streamed, never a crash or an empty answer.

        If this fails: raise a typed error from `chat_completion` and from the first step of
        `chat_completion_stream`."""
        if self.supports_chat:
            pytest.skip(f"{type(self).__name__}.supports_chat is True")
        request = self.chat_request(embedding_model_id)
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(request)
        assert 400 <= caught.value.status_code < 600 and caught.value.message
        received: list[Any] = []
        with pytest.raises(OGXError):
            async for chunk in provider.chat_completion_stream(
                self.chat_request(embedding_model_id, stream=True)
            ):
                received.append(chunk)
        assert received == []

    # -- tools ---------------------------------------------------------------------------

    async def test_named_tool_choice_calls_the_tool(
        self, provider: InferenceProvider, chat_model_id: str
    ) -> None:
        """A named `tool_choice` yields a call of that function with JSON-object arguments.

        The finish reason is `tool_calls`, or `stop` as OpenAI (and vLLM) report for a forced
        named function. If this fails: check that `tools` and `tool_choice` reach the backend
        and that `message.tool_calls` is relayed."""
        self._require("supports_chat", "supports_tools")
        request = self.chat_request(
            chat_model_id,
            messages=[{"role": "user", "content": "What is the weather like in Paris?"}],
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=32,
        )
        response = await provider.chat_completion(request)
        assert_shape(_CHAT_COMPLETION, with_required_fields(response), "chat completion")
        choice = response["choices"][0]
        assert choice["finish_reason"] in ("tool_calls", "stop"), choice
        tool_calls = choice["message"].get("tool_calls")
        assert tool_calls, f"no tool call in {choice['message']}"
        call = tool_calls[0]
        assert call["id"], "a tool call needs an id to answer it with a tool message"
        assert call["function"]["name"] == "get_weather"
        arguments = json.loads(call["function"]["arguments"])
        assert isinstance(arguments, dict), f"arguments must be a JSON object: {arguments!r}"

    # -- completions ---------------------------------------------------------------------

    async def test_completion(self, provider: InferenceProvider, chat_model_id: str) -> None:
        """A text completion has the OpenAI shape, with text, a finish reason and usage.

        If this fails: check the `/completions` mapping."""
        self._require("supports_chat", "supports_completions")
        response = await provider.completion(self.completion_request(chat_model_id))
        assert_shape(_COMPLETION, response, "completion")
        choice = response["choices"][0]
        assert choice["text"], "the completion has no text"
        assert choice["finish_reason"] in ("stop", "length")
        assert_usage(response.get("usage"), max_completion_tokens=self.max_tokens)

    async def test_completion_stream(self, provider: InferenceProvider, chat_model_id: str) -> None:
        """A streamed completion yields well-shaped chunks whose texts add up, the last choice
        carrying the finish reason.

        If this fails: check the SSE relay of `/completions`."""
        self._require("supports_chat", "supports_completions")
        chunks = await collect(
            provider.completion_stream(self.completion_request(chat_model_id, stream=True))
        )
        assert chunks, "the stream yielded nothing"
        for chunk in chunks:
            assert_shape(_COMPLETION, chunk, "completion chunk")
        text = "".join(choice["text"] for chunk in chunks for choice in chunk["choices"])
        assert text, "the chunks carry no text"
        last_choices = [chunk["choices"][0] for chunk in chunks if chunk["choices"]]
        assert last_choices[-1]["finish_reason"] in ("stop", "length")

    # -- embeddings ----------------------------------------------------------------------

    async def test_embeddings(self, provider: InferenceProvider, embedding_model_id: str) -> None:
        """Several inputs give one vector each, in input order (`index` 0, 1, …), all of one
        dimension; equal inputs give (nearly) equal vectors and different inputs different ones.

        If this fails: a vector of vectors means the backend returns per-token embeddings (no
        pooling); a wrong order means `index` is not honoured."""
        self._require("supports_embeddings")
        inputs = [
            "The cat sat on the mat.",
            "Quarterly revenue grew by four percent.",
            "The cat sat on the mat.",
        ]
        response = await provider.embeddings(EmbeddingsRequest(model=embedding_model_id, input=inputs))
        assert_shape(_EMBEDDINGS, response, "embeddings response")
        data = response["data"]
        assert [item["index"] for item in data] == [0, 1, 2]
        vectors = [item["embedding"] for item in data if isinstance(item["embedding"], list)]
        assert len(vectors) == len(data), "asked for floats, got base64"
        dimensions = {len(vector) for vector in vectors}
        assert len(dimensions) == 1 and dimensions.pop() > 0, f"inconsistent dimensions {dimensions}"
        assert _cosine(vectors[0], vectors[2]) > 0.999, "equal inputs gave different vectors"
        assert _cosine(vectors[0], vectors[1]) < 0.999, "different inputs gave the same vector"
        assert response["usage"]["prompt_tokens"] >= 1

    async def test_embeddings_single_input(
        self, provider: InferenceProvider, embedding_model_id: str
    ) -> None:
        """A single string gives one vector, of the same dimension as a batch's vectors.

        If this fails: check that a plain-string `input` is sent as is."""
        self._require("supports_embeddings")
        single = await provider.embeddings(EmbeddingsRequest(model=embedding_model_id, input="hello"))
        batch = await provider.embeddings(
            EmbeddingsRequest(model=embedding_model_id, input=["hello", "world"])
        )
        assert_shape(_EMBEDDINGS, single, "embeddings response")
        assert len(single["data"]) == 1
        assert len(single["data"][0]["embedding"]) == len(batch["data"][0]["embedding"])


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
