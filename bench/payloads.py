"""Fixed bodies: what the mock backend answers and what the load generators send.

Everything is bytes built once at import; nothing here does I/O.
"""

from __future__ import annotations

import json

MODEL = "mock-model"  # the model the mock serves and the non-streaming route uses
STREAM_MODEL = "mock-stream"  # the OGX model id routed to the mock's /stream/v1 prefix
CREATED = 1_700_000_000
PROMPT = "Hello, how are you?"  # upstream OGX's vertical-scaling request shape
ANSWER = "I am doing well, thank you for asking! How can I help you today?"

_TOKENS = [
    "I",
    " am",
    " doing",
    " well",
    ",",
    " thank",
    " you",
    " for",
    " asking",
    "!",
    " How",
    " can",
    " I",
    " help",
    " you",
    " today",
    "?",
    "",
]
assert "".join(_TOKENS) == ANSWER


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def chat_completion() -> bytes:
    """A vLLM-shaped, non-streaming `chat.completion` object."""
    return _dumps(
        {
            "id": "chatcmpl-mock-0001",
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER, "tool_calls": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                    "stop_reason": None,
                }
            ],
            "usage": {"prompt_tokens": 14, "completion_tokens": 17, "total_tokens": 31},
            "system_fingerprint": None,
            "prompt_logprobs": None,
        }
    )


def _chunk(delta: dict[str, object], finish_reason: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-mock-0002",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    return b"data: " + _dumps(body) + b"\n\n"


def chat_stream() -> bytes:
    """20 `chat.completion.chunk` SSE events (role, 18 content deltas, finish) and `[DONE]`."""
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": token}) for token in _TOKENS]
    events.append(_chunk({}, finish_reason="stop"))
    assert len(events) == 20
    return b"".join(events) + b"data: [DONE]\n\n"


def models() -> bytes:
    """`GET /v1/models` with the one model, as vLLM lists it."""
    return _dumps(
        {
            "object": "list",
            "data": [
                {
                    "id": MODEL,
                    "object": "model",
                    "created": CREATED,
                    "owned_by": "vllm",
                    "root": MODEL,
                    "parent": None,
                    "max_model_len": 4096,
                }
            ],
        }
    )


def chat_request(model: str, stream: bool) -> bytes:
    """The JSON body both the direct and the proxied runs send."""
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 50,
    }
    if stream:
        body["stream"] = True
    return _dumps(body)


def http_post(path: str, body: bytes, host: str) -> bytes:
    """A complete keep-alive HTTP/1.1 POST request, ready for `sendall`."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: */*\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def http_get(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()
