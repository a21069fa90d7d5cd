"""The streaming state machine: OpenAI chat chunks → Anthropic Messages events."""

from __future__ import annotations

import orjson
import pytest

from ogx.anthropic.stream import MessageStream, events


def chunk(delta=None, finish=None, **choice):
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish, **choice}],
    }


def usage_chunk(prompt, completion, **extra):
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        **extra,
    }
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [],
        "usage": usage,
    }


async def run(chunks, stop_sequences=None):
    async def source():
        for item in chunks:
            yield item

    raw = b"".join([event async for event in events(source(), "client-model", stop_sequences)])
    parsed = []
    for frame in raw.decode().split("\n\n"):
        if not frame:
            continue
        name_line, data_line = frame.split("\n")
        name = name_line.removeprefix("event: ")
        data = orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == name, "the event name and the data's type agree"
        parsed.append(data)
    return parsed


def kinds(parsed):
    return [e["type"] for e in parsed]


async def test_text_stream_has_anthropics_event_sequence():
    parsed = await run(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hello"}),
            chunk({"content": " world"}),
            chunk(finish="stop"),
            usage_chunk(12, 2),
        ]
    )
    assert kinds(parsed) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = parsed[0]["message"]
    assert start["model"] == "client-model" and start["content"] == [] and start["stop_reason"] is None
    assert parsed[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": "", "citations": None},
    }
    assert [e["delta"] for e in parsed[3:5]] == [
        {"type": "text_delta", "text": "Hello"},
        {"type": "text_delta", "text": " world"},
    ]
    delta = parsed[6]
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["delta"]["stop_sequence"] is None
    assert delta["usage"]["input_tokens"] == 12 and delta["usage"]["output_tokens"] == 2


async def test_reasoning_then_text_then_parallel_tool_calls_are_separate_blocks():
    parsed = await run(
        [
            chunk({"role": "assistant"}),
            chunk({"reasoning_content": "Think"}),
            chunk({"reasoning_content": "ing"}),
            chunk({"content": "Calling."}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x":'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "g", "arguments": "{}"},
                        }
                    ]
                }
            ),
            chunk(finish="tool_calls"),
            usage_chunk(5, 9),
        ]
    )
    starts = [e for e in parsed if e["type"] == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"),
        (1, "text"),
        (2, "tool_use"),
        (3, "tool_use"),
    ]
    assert starts[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert starts[2]["content_block"] == {
        "type": "tool_use",
        "id": "call_a",
        "name": "f",
        "input": {},
        "caller": {"type": "direct"},
    }
    deltas = [(e["index"], e["delta"]) for e in parsed if e["type"] == "content_block_delta"]
    assert deltas == [
        (0, {"type": "thinking_delta", "thinking": "Think"}),
        (0, {"type": "thinking_delta", "thinking": "ing"}),
        (1, {"type": "text_delta", "text": "Calling."}),
        (2, {"type": "input_json_delta", "partial_json": '{"x":'}),
        (2, {"type": "input_json_delta", "partial_json": " 1}"}),
        (3, {"type": "input_json_delta", "partial_json": "{}"}),
    ]
    stops = [e["index"] for e in parsed if e["type"] == "content_block_stop"]
    assert stops == [0, 1, 2, 3], "every block is closed, in order, before the next opens"
    assert parsed[-2]["delta"]["stop_reason"] == "tool_use"


async def test_every_block_is_closed_before_the_next_starts():
    parsed = await run(
        [
            chunk({"content": "a"}),
            chunk({"reasoning_content": "b"}),
            chunk({"content": "c"}),
            chunk(finish="stop"),
        ]
    )
    open_index = None
    for event in parsed:
        if event["type"] == "content_block_start":
            assert open_index is None
            open_index = event["index"]
        elif event["type"] == "content_block_delta":
            assert event["index"] == open_index
        elif event["type"] == "content_block_stop":
            assert event["index"] == open_index
            open_index = None
    assert open_index is None


async def test_length_finish_and_stop_sequence_reported_by_the_backend():
    cut = await run([chunk({"content": "a"}), chunk(finish="length")])
    assert cut[-2]["delta"]["stop_reason"] == "max_tokens"
    stopped = await run([chunk({"content": "a"}), chunk(finish="stop", stop_reason="###")], ["###"])
    assert stopped[-2]["delta"]["stop_reason"] == "stop_sequence"
    assert stopped[-2]["delta"]["stop_sequence"] == "###"


async def test_cached_and_estimated_usage_is_carried():
    parsed = await run(
        [
            chunk({"content": "a"}),
            chunk(finish="stop"),
            usage_chunk(50, 1, prompt_tokens_details={"cached_tokens": 20}, estimated=True),
        ]
    )
    usage = parsed[-2]["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"]) == (30, 20, 1)
    assert usage["estimated"] is True


async def test_a_stream_with_no_content_still_starts_and_stops_the_message():
    parsed = await run([chunk({"role": "assistant", "content": ""}), chunk(finish="stop")])
    assert kinds(parsed) == ["message_start", "message_delta", "message_stop"]


async def test_message_start_waits_for_the_backends_first_chunk():
    """So a backend that refuses the request fails before anything is sent (an HTTP error)."""

    class Refused(Exception):
        pass

    async def refusing():
        raise Refused
        yield  # pragma: no cover

    stream = events(refusing(), "m")
    with pytest.raises(Refused):
        await anext(stream)


def test_state_machine_feed_is_usable_without_the_async_wrapper():
    state = MessageStream("m")
    assert state.start()["type"] == "message_start"
    assert [e["type"] for e in state.feed(chunk({"content": "x"}))] == [
        "content_block_start",
        "content_block_delta",
    ]
    assert [e["type"] for e in state.finish()] == ["content_block_stop", "message_delta"]
