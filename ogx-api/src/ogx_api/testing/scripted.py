"""A scripted OpenAI-compatible chat server for tests: it answers by rule, so tool-call
choreography (call a tool, read its result, answer) is deterministic where a small real model is
not. It is a real HTTP server on a loopback port (standard library only), so `ogx run` can reach
it through any OpenAI-compatible provider (`remote::vllm` with `base_url: backend.base_url`).

    from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall

    rules = [
        Rule(last_role="user", tool="get_weather",
             reply=Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])),
        Rule(last_role="tool", reply=Reply(text=lambda req: f"It is {req['messages'][-1]['content']}.")),
    ]
    with ScriptedBackend(rules) as backend:
        ...  # backend.base_url is http://127.0.0.1:PORT/v1; backend.requests lists the bodies

The first rule whose every given condition holds answers; with none, the `default` reply (an echo
of the last message's text). What it serves:

- `GET /v1/models`: `models` (default `["scripted"]`).
- `POST /v1/chat/completions`, JSON or SSE (`stream: true`, with a usage chunk when
  `stream_options.include_usage`). A token is a whitespace-separated word: text streams a word per
  chunk, `max_tokens` / `max_completion_tokens` cut it (`finish_reason: length`), and usage counts
  words (prompt: the words of every message's text). `stop` cuts the text before the first stop
  string and reports it in the choice's `stop_reason`, as vLLM does. `reasoning` is sent as
  `reasoning_content`. Tool calls get ids `call_<request>_<index>`; their arguments stream in two
  pieces after a first delta with the id and name.
- `Reply(status=..., error=...)` answers with that HTTP error in OpenAI's envelope.

Run it on its own (e.g. as a fast backend for a benchmark) with
`python -m ogx_api.testing.scripted [--port N] [--rules rules.json]`, where the JSON file is a list
of rules: `{"contains": "weather", "reply": {"tool_calls": [{"name": "f", "arguments": {}}]}}`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Request = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None  # default: call_<request number>_<index>


@dataclass(frozen=True)
class Reply:
    text: str | Callable[[Request], str] = ""
    tool_calls: Sequence[ToolCall] = ()
    reasoning: str | None = None
    finish_reason: str | None = None  # default: tool_calls, length or stop, as the reply implies
    usage: dict[str, Any] | None = None  # replaces the counted usage (e.g. to add cached_tokens)
    status: int | None = None  # answer with this HTTP error instead
    error: str = "scripted failure"
    chunk_delay: float = 0.0  # seconds before each streamed chunk


@dataclass(frozen=True)
class Rule:
    """Answer `reply` when every condition given holds for the request."""

    reply: Reply
    contains: str | None = None  # in the last message's text (case-insensitive)
    last_role: str | None = None  # "user", "tool", "assistant", "system"
    tool: str | None = None  # a function tool of this name is offered
    model: str | None = None
    when: Callable[[Request], bool] | None = None

    def matches(self, request: Request) -> bool:
        messages = request.get("messages") or [{}]
        last = messages[-1]
        if self.last_role is not None and last.get("role") != self.last_role:
            return False
        if self.contains is not None and self.contains.lower() not in message_text(last).lower():
            return False
        if self.tool is not None and self.tool not in _tool_names(request):
            return False
        if self.model is not None and request.get("model") != self.model:
            return False
        return self.when is None or self.when(request)


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _tool_names(request: Request) -> set[str]:
    tools = [t for t in request.get("tools") or [] if isinstance(t, dict)]
    return {str((t.get("function") or {}).get("name")) for t in tools}


def _echo(request: Request) -> str:
    messages = request.get("messages") or [{}]
    return f"echo: {message_text(messages[-1])}"


class ScriptedBackend:
    """The server; a context manager that starts it on a free loopback port and stops it."""

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        default: Reply | None = None,
        models: Sequence[str] = ("scripted",),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.rules = list(rules)
        self.default = default or Reply(text=_echo)
        self.models = list(models)
        self.requests: list[Request] = []  # every chat request body received, oldest first
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedBackend:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scripted-backend", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply_for(self, request: Request) -> Reply:
        for rule in self.rules:
            if rule.matches(request):
                return rule.reply
        return self.default

    def _record(self, request: Request) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)


@dataclass
class _Answer:
    """A reply worked out for one request: what to send, JSON or streamed."""

    text_words: list[str]
    reasoning: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    matched_stop: str | None
    usage: dict[str, Any]


def answer(reply: Reply, request: Request, number: int) -> _Answer:
    text = reply.text(request) if callable(reply.text) else reply.text
    matched = None
    stops = request.get("stop")
    for stop in [stops] if isinstance(stops, str) else stops or []:
        at = text.find(stop)
        if at >= 0 and (matched is None or at < text.find(matched)):
            matched = stop
    if matched is not None:
        text = text[: text.find(matched)]
    words = text.split(" ") if text else []
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    truncated = limit is not None and len(words) > limit
    if truncated:
        words = words[:limit]
    calls = [
        {
            "id": call.id or f"call_{number}_{index}",
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": call.arguments
                if isinstance(call.arguments, str)
                else json.dumps(call.arguments),
            },
        }
        for index, call in enumerate(reply.tool_calls)
    ]
    finish = reply.finish_reason or ("length" if truncated else "tool_calls" if calls else "stop")
    prompt = sum(len(message_text(m).split()) for m in request.get("messages") or [])
    completion = len(words) + len((reply.reasoning or "").split())
    completion += sum(len(c["function"]["arguments"].split()) for c in calls)
    usage = reply.usage or {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return _Answer(words, reply.reasoning, calls, finish, matched if finish == "stop" else None, usage)


def token_logprobs(token: str, position: int, request: Request) -> dict[str, Any]:
    """The scripted logprob of a text token when the request asks for them: -0.1 per position,
    with `top_logprobs` alternatives (the token itself first)."""
    logprob = round(-0.1 * (position + 1), 4)
    top = [
        {"token": token if rank == 0 else f"alt{rank}", "logprob": logprob - rank, "bytes": None}
        for rank in range(int(request.get("top_logprobs") or 0))
    ]
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": top}


def _logprobs_of(tokens: list[str], request: Request, start: int = 0) -> dict[str, Any] | None:
    if not request.get("logprobs"):
        return None
    return {"content": [token_logprobs(t, start + i, request) for i, t in enumerate(tokens)], "refusal": None}


def completion_body(result: _Answer, request: Request, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": " ".join(result.text_words) or None}
    if result.reasoning:
        message["reasoning_content"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = result.tool_calls
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": result.finish_reason,
        "logprobs": _logprobs_of(
            [w if i == 0 else " " + w for i, w in enumerate(result.text_words)], request
        ),
        "stop_reason": result.matched_stop,
    }
    return {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", ""),
        "choices": [choice],
        "usage": result.usage,
    }


def stream_chunks(result: _Answer, request: Request, number: int) -> Iterator[dict[str, Any]]:
    head = {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", ""),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        choice.update(extra)
        return {**head, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    if result.reasoning:
        for index, word in enumerate(result.reasoning.split(" ")):
            yield chunk({"reasoning_content": word if index == 0 else " " + word})
    for index, word in enumerate(result.text_words):
        token = word if index == 0 else " " + word
        yield chunk({"content": token}, logprobs=_logprobs_of([token], request, index))
    for index, call in enumerate(result.tool_calls):
        function = call["function"]
        opening = {"index": index, "id": call["id"], "type": "function"}
        yield chunk({"tool_calls": [{**opening, "function": {"name": function["name"], "arguments": ""}}]})
        arguments = function["arguments"]
        middle = len(arguments) // 2
        for piece in (arguments[:middle], arguments[middle:]):
            if piece:
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, result.finish_reason, stop_reason=result.matched_stop)
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**head, "choices": [], "usage": result.usage}


def _handler(backend: ScriptedBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `requests`
            return None

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                data = [
                    {"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in backend.models
                ]
                self._json(200, {"object": "list", "data": data})
            else:
                self._json(404, _error(f"no route for GET {self.path}", "not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, _error(f"no route for POST {self.path}", "not_found"))
                return
            try:
                request = json.loads(raw)
            except ValueError:
                self._json(400, _error("body is not JSON", "invalid_request_error"))
                return
            number = backend._record(request)
            reply = backend.reply_for(request)
            if reply.status is not None:
                self._json(reply.status, _error(reply.error, "scripted_error"))
                return
            result = answer(reply, request, number)
            if not request.get("stream"):
                self._json(200, completion_body(result, request, number))
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for item in stream_chunks(result, request, number):
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                    self._chunk(b"data: " + json.dumps(item).encode() + b"\n\n")
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError):  # the client went away: stop writing
                self.close_connection = True

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def rules_from_json(items: list[dict[str, Any]]) -> list[Rule]:
    """Rules from JSON data (no predicates): `{"contains", "last_role", "tool", "model", "reply"}`."""
    rules = []
    for item in items:
        reply = dict(item.get("reply") or {})
        reply["tool_calls"] = tuple(ToolCall(**c) for c in reply.get("tool_calls") or ())
        conditions = {k: item[k] for k in ("contains", "last_role", "tool", "model") if k in item}
        rules.append(Rule(reply=Reply(**reply), **conditions))
    return rules


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--rules", help="a JSON file: a list of rules")
    parser.add_argument("--model", action="append", help="a model id to list (repeatable)")
    args = parser.parse_args(argv)
    rules = []
    if args.rules:
        with open(args.rules) as f:
            rules = rules_from_json(json.load(f))
    backend = ScriptedBackend(rules, models=args.model or ["scripted"], host=args.host, port=args.port)
    print(f"scripted backend on {backend.base_url}", flush=True)
    try:
        backend._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        backend._server.server_close()


if __name__ == "__main__":
    main()


def scripted_provider_spec(provider_type: str = "remote::scripted") -> Any:
    """A provider spec serving a `ScriptedBackend` in-process through the shared OpenAI-compatible
    adapter (config: `{"base_url": backend.base_url}`), for tests of the core that need tool calls."""
    from ogx_api import Api, ProviderSpec

    return ProviderSpec(
        api=Api.inference,
        provider_type=provider_type,
        config_class="ogx_api.openai_compat:OpenAICompatConfig",
        factory="ogx_api.testing.scripted:create_scripted_provider",
        description="a scripted OpenAI-compatible backend, for tests",
    )


def create_scripted_provider(config: Any, deps: Any = None) -> Any:
    from ogx_api.openai_compat import OpenAICompatInferenceAdapter

    return OpenAICompatInferenceAdapter(config)
