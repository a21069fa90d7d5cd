"""The OpenAI inference endpoints, served in-process over the fake provider."""

from __future__ import annotations

import asyncio
import base64
import struct

import orjson
import pytest

pytestmark = pytest.mark.asyncio

CHAT = {"model": "fake/fake-llm", "messages": [{"role": "user", "content": "hello there"}]}


async def test_chat_completion_is_routed_and_keeps_the_clients_model_id(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "fake/fake-llm"
    assert body["choices"][0]["message"]["content"] == "echo: hello there"


async def test_configured_model_id_and_alias_route_to_the_provider_model(serve, fake_inference):
    tree = fake_inference() | {
        "registered_resources": {
            "models": [
                {
                    "model_id": "my-llm",
                    "provider_id": "fake",
                    "provider_model_id": "fake-llm",
                    "aliases": ["short"],
                }
            ]
        }
    }
    async with serve(tree) as (client, _):
        by_alias = await client.post("/v1/chat/completions", json=CHAT | {"model": "short"})
        listed = (await client.get("/v1/models")).json()["data"]
    assert by_alias.status_code == 200 and by_alias.json()["model"] == "short"
    ids = [m["id"] for m in listed]
    assert "my-llm" in ids
    assert "fake/fake-llm" not in ids, "a configured model is listed once, under its configured id"


async def test_streamed_chat_completion_relays_chunks_then_done(serve, fake_inference):
    request = CHAT | {"stream": True, "stream_options": {"include_usage": True}}
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert {c["model"] for c in chunks} == {"fake/fake-llm"}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: hello there"
    assert chunks[-1]["usage"]["total_tokens"] > 0


async def test_stream_that_fails_before_its_first_chunk_is_an_http_error(serve, fake_inference):
    async with serve(fake_inference(fail_before_stream="ProviderUnavailable")) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT | {"stream": True})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_unavailable"


async def test_stream_that_fails_midway_ends_with_an_error_event(serve, fake_inference):
    async with serve(fake_inference(fail_mid_stream="ProviderError")) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT | {"stream": True})
    assert response.status_code == 200
    last = response.text.strip().split("\n\n")[-1]
    assert orjson.loads(last.removeprefix("data: "))["error"]["code"] == "provider_error"


async def test_unknown_model_is_404_and_lists_available_models(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT | {"model": "nope"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "fake/fake-llm" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "fake/fake-llm"}, "messages"),
        ({"model": "fake/fake-llm", "messages": []}, "messages"),
        ({"model": "fake/fake-llm", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "fake/fake-llm", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"model": "fake/fake-llm", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        (CHAT | {"temperature": 9}, "temperature"),
        (CHAT | {"tool_choice": {"type": "function"}}, "tool_choice.function"),
        ({"messages": CHAT["messages"]}, "model"),
    ],
)
async def test_invalid_chat_request_is_400_naming_the_param(serve, fake_inference, body, param):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param in error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
async def test_body_that_is_not_a_json_object_is_400(serve, fake_inference, raw):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", content=raw)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_unknown_fields_are_passed_to_the_provider(serve, fake_inference):
    async with serve(fake_inference()) as (client, app):
        response = await client.post(
            "/v1/chat/completions", json=CHAT | {"top_k": 5, "chat_template_kwargs": {"x": 1}}
        )
        received = app.state.ogx.providers[0].impl.requests[-1]
    assert response.status_code == 200
    assert received.model == "fake-llm", "the provider gets its own model id"
    assert received.backend_payload()["top_k"] == 5
    assert received.backend_payload()["chat_template_kwargs"] == {"x": 1}


async def test_embeddings_with_an_embedding_model(serve, fake_inference):
    async with serve(fake_inference(embedding_dimension=16)) as (client, _):
        response = await client.post("/v1/embeddings", json={"model": "fake/fake-embed", "input": ["a", "b"]})
    assert response.status_code == 200
    body = response.json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(len(d["embedding"]) == 16 for d in body["data"])
    assert body["model"] == "fake/fake-embed"


async def test_embeddings_with_a_chat_model_is_400_naming_embedding_models(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/embeddings", json={"model": "fake/fake-llm", "input": "a"})
    assert response.status_code == 400
    assert "fake/fake-embed" in response.json()["error"]["message"]


async def test_chat_with_an_embedding_model_is_400(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT | {"model": "fake/fake-embed"})
    assert response.status_code == 400


async def test_provider_not_implemented_is_501_in_the_openai_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post(
            "/v1/embeddings", json={"model": "fake/fake-embed", "input": "a", "dimensions": 4}
        )
    assert response.status_code == 501
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_completion(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/completions", json={"model": "fake/fake-llm", "prompt": "once"})
        streamed = await client.post(
            "/v1/completions", json={"model": "fake/fake-llm", "prompt": "once", "stream": True}
        )
    assert response.status_code == 200 and response.json()["choices"][0]["text"] == " after once"
    assert streamed.text.rstrip().endswith("data: [DONE]")


async def stream_then_disconnect(app, body: bytes) -> tuple[float, list[bytes]]:
    """POST `body` to /v1/chat/completions at the ASGI level and go away after the first event;
    the seconds the app took to finish, and what it sent."""
    received_body = asyncio.Event()
    first_event = asyncio.Event()
    sent: list[bytes] = []

    async def receive():
        if not received_body.is_set():
            received_body.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await first_event.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])
            first_event.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(app(scope, receive, send), timeout=3)
    return asyncio.get_running_loop().time() - started, sent


async def test_client_disconnect_stops_the_upstream_stream(serve, fake_inference):
    """The client goes away after the first event; the provider's stream must be closed long
    before it would have finished on its own."""
    words = " ".join(f"w{i}" for i in range(200))
    body = orjson.dumps(CHAT | {"stream": True, "messages": [{"role": "user", "content": words}]})
    async with serve(fake_inference(stream_delay=0.02)) as (_, app):
        provider = app.state.ogx.providers[0].impl
        elapsed, sent = await stream_then_disconnect(app, body)
    assert provider.streams_closed == 1
    assert elapsed < 1.0, "the 200-word stream (4 s) was cut short"
    assert len(sent) < 10


class EndlessBackend:
    """A real OpenAI-compatible backend on 127.0.0.1 whose chat stream goes on for 8 s, one
    chunk every 20 ms, unless the connection is closed; `closed` is set when it is."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.base_url = ""

    async def __aenter__(self) -> EndlessBackend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.base_url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if head.startswith(b"GET"):
                    models = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}'
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(models), models))
                    continue
                await self._stream(reader, writer)
                return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "w "}, "finish_reason": None}]}  # fmt: skip
        event = b"data: " + orjson.dumps(chunk) + b"\n\n"
        try:
            for _ in range(400):
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), timeout=0.02) == b"":
                        return  # the client closed the connection
                except TimeoutError:
                    pass
        finally:
            self.closed.set()


async def test_client_disconnect_closes_the_backend_connection(serve_scripted):
    """Through the shared OpenAI-compatible adapter over real HTTP: the client goes away after the
    first event, and the backend sees its connection closed, so it can stop generating."""
    body = orjson.dumps(
        {"model": "scripted/m", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    )
    async with EndlessBackend() as backend, serve_scripted(backend) as (_, _, app):
        elapsed, _ = await stream_then_disconnect(app, body)
        await asyncio.wait_for(backend.closed.wait(), timeout=2)
    assert elapsed < 1.0, "the 8 s stream was cut short"


async def test_base64_embeddings_decode_to_the_float_vectors(serve, fake_inference):
    request = {"model": "fake/fake-embed", "input": ["a", "b"]}
    async with serve(fake_inference()) as (client, _):
        floats = (await client.post("/v1/embeddings", json=request)).json()["data"]
        packed = (await client.post("/v1/embeddings", json=request | {"encoding_format": "base64"})).json()[
            "data"
        ]
    for as_float, as_base64 in zip(floats, packed, strict=True):
        raw = base64.b64decode(as_base64["embedding"])
        decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
        assert decoded == pytest.approx(as_float["embedding"], abs=1e-6)
