"""The Interactions service over a scripted router: function-call choreography (JSON and
streamed), thoughts, background cancel, per-owner storage, and the request translation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ogx.google import InteractionsService, InteractionStore, revision
from ogx.google.schema import CreateInteractionRequest
from ogx.google.translate import chat_request, input_turns
from ogx.jobs import JobQueue, JobRunner
from ogx.storage import create_engine, migrate, resolve_storage_url
from ogx_api import InvalidRequest, NotFound, ProviderError

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
    if usage:
        chunk["usage"] = usage
    return chunk


class _Registry:
    def resolve(self, model_id: str, model_type: Any = None) -> None:
        if model_id != "m":
            raise NotFound(f"model {model_id!r} not found", param="model", code="model_not_found")


class ScriptedRouter:
    """Answers each chat call with the next scripted completion (or chunk list)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []
        self.registry = _Registry()
        self.release = asyncio.Event()
        self.cancelled = False

    async def chat_completion(self, request: Any, owner: str | None = None) -> dict[str, Any]:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if answer == "crash":
            raise RuntimeError("a bug, not an OGXError")
        if answer == "block":
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            answer = _completion({"content": "too late"})
        return answer

    async def chat_completion_stream(
        self, request: Any, owner: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        self.requests.append(request)
        chunks = self.answers.pop(0)

        async def relay() -> AsyncIterator[dict[str, Any]]:
            for chunk in chunks:
                yield chunk

        return relay()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[InteractionStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/ogx.db"
    else:
        url = resolve_storage_url(request.getfixturevalue("ogx_postgres_database"), "test")
    engine = create_engine(url)
    await migrate(engine)
    yield InteractionStore(engine)
    await engine.dispose()


def _request(**fields: Any) -> CreateInteractionRequest:
    return CreateInteractionRequest.model_validate({"model": "m", **fields})


async def _collect(events: Any) -> list[dict[str, Any]]:
    return [event async for event in events]


async def test_function_call_then_result_round_trip(store):
    router = ScriptedRouter(
        _completion(
            {
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            finish="tool_calls",
        ),
        _completion({"content": "Sunny in Paris."}),
    )
    service = _service(router, store)
    first = await service.create(
        _request(input="Weather in Paris?", tools=[WEATHER], generation_config={"tool_choice": "any"}), None
    )
    assert isinstance(first, dict)
    assert first["status"] == "requires_action"
    assert first["outputs"] == [
        {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    sent = router.requests[0].backend_payload()
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER["parameters"],
            },
        }
    ]
    assert sent["tool_choice"] == "required"

    result = {
        "type": "function_result",
        "call_id": "call_1",
        "name": "get_weather",
        "result": {"sky": "sunny"},
    }
    second = await service.create(
        _request(input=[result], tools=[WEATHER], previous_interaction_id=first["id"]), None
    )
    assert isinstance(second, dict)
    assert second["status"] == "completed" and second["outputs"] == [
        {"type": "text", "text": "Sunny in Paris."}
    ]
    messages = router.requests[1].backend_payload()["messages"]
    assert messages == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "sunny"}'},
    ]


async def test_streamed_thought_text_and_function_call(store):
    chunks = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"reasoning_content": "Think"}),
        _chunk({"reasoning_content": "ing."}),
        _chunk({"content": "Let me "}),
        _chunk({"content": "check."}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"ci'},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}),
        _chunk({}, finish="tool_calls"),
        _chunk(usage={"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}),
    ]
    router = ScriptedRouter(chunks)
    service = _service(router, store)
    events = await _collect(await service.create(_request(input="Oslo?", tools=[WEATHER], stream=True), None))
    shape = [(e["event_type"], e.get("index")) for e in events]
    assert shape == [
        ("interaction.start", None),
        ("content.start", 0),
        ("content.delta", 0),
        ("content.delta", 0),
        ("content.stop", 0),
        ("content.start", 1),
        ("content.delta", 1),
        ("content.delta", 1),
        ("content.stop", 1),
        ("content.start", 2),
        ("content.delta", 2),
        ("content.stop", 2),
        ("interaction.complete", None),
    ]
    assert events[1]["content"] == {"type": "thought"}
    assert events[2]["delta"] == {"type": "thought_summary", "content": {"type": "text", "text": "Think"}}
    call = {"type": "function_call", "id": "call_9", "name": "get_weather", "arguments": {"city": "Oslo"}}
    assert events[9]["content"] == {**call, "arguments": {}} and events[10]["delta"] == call
    final = events[-1]["interaction"]
    assert final["status"] == "requires_action"
    assert final["outputs"] == [
        {"type": "thought", "summary": [{"type": "text", "text": "Thinking."}]},
        {"type": "text", "text": "Let me check."},
        call,
    ]
    assert final["usage"]["total_tokens"] == 16
    assert router.requests[0].stream_options.include_usage, "usage is always asked for"
    assert await service.get(final["id"], None) == final


def _service(router: ScriptedRouter, store: InteractionStore) -> InteractionsService:
    return InteractionsService(router, store, JobQueue(store._engine))  # type: ignore[arg-type]


def _runner(service: InteractionsService) -> JobRunner:
    return JobRunner(service._jobs, poll_interval=0.02, shutdown_timeout=0.05)


async def _until(condition: Any) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (the state lives in another task and the database)
            await asyncio.sleep(0.01)


async def test_cancel_stops_a_running_background_interaction(store):
    router = ScriptedRouter("block")
    service = _service(router, store)
    runner = _runner(service)
    await runner.start()
    created = await service.create(_request(input="slow", background=True), None)
    assert isinstance(created, dict) and created["status"] == "in_progress"
    await _until(lambda: router.requests)
    cancelled = await service.cancel(created["id"], None)
    assert cancelled["status"] == "cancelled"
    await _until(lambda: router.cancelled)  # the job's handler, and with it the upstream call
    assert (await service.get(created["id"], None))["status"] == "cancelled"
    with pytest.raises(InvalidRequest):
        await service.cancel(created["id"], None)
    await runner.stop()


async def test_a_background_interaction_survives_a_restart(store):
    router = ScriptedRouter("block", _completion({"content": "done at last"}))
    service = _service(router, store)
    first = _runner(service)
    await first.start()
    created = await service.create(_request(input="slow", background=True), None)
    await _until(lambda: router.requests)
    with pytest.raises(InvalidRequest) as caught:
        await service.create(_request(input="and?", previous_interaction_id=created["id"]), None)
    assert caught.value.param == "previous_interaction_id", "a running interaction cannot be continued"
    await first.stop()  # the server stops: the job is handed back, the interaction still runs
    assert router.cancelled and (await service.get(created["id"], None))["status"] == "in_progress"
    restarted = _service(router, store)  # a new process: a new queue and runner, the same database
    second = _runner(restarted)
    await second.start()
    await _until(lambda: len(router.requests) == 2)
    await second.stop()
    done = await restarted.get(created["id"], None)
    assert done["status"] == "completed" and done["outputs"] == [{"type": "text", "text": "done at last"}]


async def test_a_background_interaction_that_keeps_crashing_ends_failed(store):
    router = ScriptedRouter("crash", "crash", "crash")
    service = _service(router, store)
    runner = JobRunner(service._jobs, poll_interval=0.02, retry_base=0.01, shutdown_timeout=0.05)
    await runner.start()
    created = await service.create(_request(input="x", background=True), None)
    await _until(lambda: len(router.requests) == 3)
    await _until(lambda: not runner._running)
    await runner.stop()
    assert (await service.get(created["id"], None))["status"] == "failed", "after its last attempt"


async def test_deleting_a_running_background_interaction_cancels_its_job(store):
    router = ScriptedRouter("block")
    service = _service(router, store)
    runner = _runner(service)
    await runner.start()
    created = await service.create(_request(input="slow", background=True), None)
    await _until(lambda: router.requests)
    assert await service.delete(created["id"], None) == {}
    await _until(lambda: router.cancelled)
    with pytest.raises(NotFound):
        await service.get(created["id"], None)
    await runner.stop()


async def test_interactions_are_per_owner(store):
    service = _service(ScriptedRouter(_completion({"content": "hi"})), store)
    created = await service.create(_request(input="x"), "alice")
    assert isinstance(created, dict)
    assert (await service.get(created["id"], "alice"))["id"] == created["id"]
    with pytest.raises(NotFound):
        await service.get(created["id"], "bob")
    with pytest.raises(NotFound):
        await service.delete(created["id"], "bob")
    with pytest.raises(NotFound):
        await service.create(_request(input="y", previous_interaction_id=created["id"]), "bob")


async def test_model_arguments_that_are_not_json_are_a_provider_error(store):
    bad = _completion(
        {
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
        }
    )
    service = _service(ScriptedRouter(bad), store)
    with pytest.raises(ProviderError):
        await service.create(_request(input="x"), None)


def _payload(**fields: Any) -> dict[str, Any]:
    body = _request(**fields)
    return chat_request(body, [], input_turns(body)).backend_payload()


def test_media_content_becomes_chat_parts():
    payload = _payload(
        input=[
            {"type": "text", "text": "Look:"},
            {"type": "image", "data": "aGk=", "mime_type": "image/jpeg"},
            {"type": "image", "uri": "https://example.com/a.png"},
            {"type": "audio", "data": "UklG", "mime_type": "audio/wav"},
            {"type": "document", "data": "JVBE", "mime_type": "application/pdf"},
        ]
    )
    parts = payload["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Look:"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,aGk="}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert parts[3] == {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}
    assert parts[4]["file"]["file_data"] == "data:application/pdf;base64,JVBE"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": [{"type": "video", "uri": "gs://v.mp4"}]}, "input[0].type"),
        ({"input": [{"type": "audio", "data": "x", "mime_type": "audio/ogg"}]}, "input[0].mime_type"),
        (
            {"input": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}]}]},
            "input[0].content[1].data",
        ),
        (
            {
                "input": [
                    {"role": "model", "content": [{"type": "image", "data": "x"}]},
                    {"role": "user", "content": "?"},
                ]
            },
            "input[0].content[0].type",
        ),
        ({"input": "x", "response_format": "json please"}, "response_format"),
    ],
)
def test_untranslatable_requests_name_the_field(fields, param):
    with pytest.raises(InvalidRequest) as caught:
        _payload(**fields)
    assert caught.value.param == param
    assert param.split(".")[0] in caught.value.message


def test_generation_config_and_output_format_mapping():
    payload = _payload(
        input="x",
        tools=[WEATHER],
        response_format={"type": "object"},
        generation_config={
            "thinking_level": "low",
            "tool_choice": {"allowed_tools": {"mode": "any", "tools": ["get_weather"]}},
        },
    )
    assert payload["reasoning_effort"] == "low"
    assert payload["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": {"type": "object"}},
    }
    assert payload["tool_choice"] == {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        },
    }
    assert _payload(input="x", response_mime_type="application/json")["response_format"] == {
        "type": "json_object"
    }
    assert _payload(input="x", generation_config={"tool_choice": "none"})["tool_choice"] == "none"


def test_function_result_given_as_text_blocks_and_single_content_input():
    result = {
        "type": "function_result",
        "call_id": "c1",
        "result": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    assert _payload(input=[result])["messages"] == [{"role": "tool", "tool_call_id": "c1", "content": "ab"}]
    assert _payload(input={"type": "text", "text": "solo"})["messages"] == [
        {"role": "user", "content": "solo"}
    ]
    assert json.loads(json.dumps(_payload(input="x", system_instruction="s")["messages"][0])) == {
        "role": "system",
        "content": "s",
    }


def test_consecutive_steps_of_one_side_share_a_turn():
    steps = [
        {"type": "user_input", "content": [{"type": "text", "text": "a"}]},
        {"type": "image", "data": "AA==", "mime_type": "image/png"},
        {"type": "thought", "summary": [{"type": "text", "text": "t"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "b"}]},
    ]
    assert revision.turns(steps) == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, steps[1]]},
        {"role": "model", "content": [steps[2], {"type": "text", "text": "b"}]},
    ]
