"""A local stand-in for Amazon Bedrock, because AWS is unreachable where these tests run.

`BedrockStub` is a real HTTP server on a free loopback port that speaks Bedrock's wire protocol,
so the provider's real botocore clients talk to it unchanged (only `endpoint_url` differs):

- Bedrock Runtime: `POST /model/{modelId}/converse` (JSON), `POST /model/{modelId}/converse-stream`
  (the binary AWS event-stream framing, `application/vnd.amazon.eventstream`, sent chunk by chunk
  — the encoder is written here from the format's description, and botocore's own parser,
  which checks both CRCs, is the proof it is right), `POST /model/{modelId}/invoke` (Titan and
  Cohere embedding bodies);
- the `bedrock` control plane: `GET /foundation-models`, `GET /inference-profiles` (paginated),
  `GET /foundation-model-availability/{modelId}`.

Every request must be authenticated like AWS requires: either a SigV4 `Authorization` header for
service `bedrock` (botocore signs bedrock-runtime calls with signing name `bedrock`), which the
stub *recomputes* from the request and the registered secret key — so a malformed canonical
request, a wrong scope or secret, or a missing session token is refused — or
`Authorization: Bearer <Bedrock API key>`. Refusals and every other error use Bedrock's real
shape: an `x-amzn-ErrorType` header and a `{"message": …}` body.

Answers are deterministic, by rule (see `_reply`), and every request is recorded in
`stub.requests` so tests can check exactly what went over the wire. Magic model ids
(`ERROR_MODELS`, `stub.*`) trigger errors, slow or broken streams.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bedrock_wire import REGION, StubError, event, exception_event, verify_sigv4

ACCESS_KEY = "AKIDSTUBEXAMPLE00001"
SECRET_KEY = "stub/secret/key/for/tests/only/000000001"
TEMP_ACCESS_KEY = "ASIASTUBTEMPORARY0001"
TEMP_SECRET_KEY = "stub/temporary/secret/key/only/for/tests"
SESSION_TOKEN = "stub-session-token-FwoGZXIvYXdzEXAMPLE"
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1zdHViLWtleQ=="  # Bedrock API keys start with "ABSK"

CHAT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PROFILE_ONLY_MODEL = "anthropic.claude-3-7-sonnet-20250219-v1:0"
PROFILE = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
APPLICATION_PROFILE = "a1b2c3d4e5f6"
PROVISIONED_ONLY_MODEL = "anthropic.claude-3-haiku-20240307-v1:0:48k"
DENIED_MODEL = "meta.llama3-70b-instruct-v1:0"
DENIED_PROFILE_MODEL = "meta.llama3-2-90b-instruct-v1:0"
DENIED_PROFILE = "us.meta.llama3-2-90b-instruct-v1:0"
UNCHECKABLE_MODEL = "mistral.mistral-large-2402-v1:0"
IMAGE_MODEL = "stability.sd3-large-v1:0"
REASONING_MODEL = "stub.reasoner"
TITAN_V1 = "amazon.titan-embed-text-v1"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_V3 = "cohere.embed-english-v3"
COHERE_V4 = "cohere.embed-v4:0"

ERROR_MODELS: dict[str, tuple[int, str, str]] = {
    "stub.throttled": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "stub.quota": (400, "ServiceQuotaExceededException", "You have exceeded the quota of tokens per minute."),
    "stub.denied": (
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    "stub.invalid": (
        400,
        "ValidationException",
        "Malformed input request, please reformat your input and try again.",
    ),
    "stub.missing": (
        404,
        "ResourceNotFoundException",
        "Model not found: the requested model does not exist.",
    ),
    "stub.model-timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request."),
    "stub.unavailable": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "stub.not-ready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
    "stub.internal": (500, "InternalServerException", "The server encountered an internal error."),
    "stub.model-error": (424, "ModelErrorException", "The model returned an error: CUDA error."),
}
SLOW_MODEL = "stub.slow"  # answers after `slow_seconds`
GATED_MODEL = "stub.gated"  # streams one delta, then waits for `release_gate()`
MID_STREAM_ERROR_MODEL = "stub.mid-stream-error"  # streams one delta, then a modelStreamErrorException
CUT_STREAM_MODEL = "stub.cut-stream"  # streams one delta, then ends without messageStop
MID_STREAM_THROTTLE_MODEL = "stub.mid-stream-throttle"  # streams one delta, then a throttlingException

EMBEDDING_DIMENSIONS = {TITAN_V1: 1536, TITAN_V2: 1024, COHERE_V3: 1024, COHERE_V4: 1536}


def _summary(
    model_id: str, outputs: list[str], inference: list[str], inputs: list[str] | None = None
) -> dict[str, Any]:
    vendor = model_id.split(".", 1)[0]
    return {
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": model_id.split(".", 1)[1][:20],
        "providerName": vendor.capitalize(),
        "inputModalities": inputs or ["TEXT"],
        "outputModalities": outputs,
        "responseStreamingSupported": "EMBEDDING" not in outputs,
        "customizationsSupported": [],
        "inferenceTypesSupported": inference,
        "modelLifecycle": {"status": "ACTIVE"},
    }


FOUNDATION_MODELS = [
    _summary(CHAT_MODEL, ["TEXT"], ["ON_DEMAND"], ["TEXT", "IMAGE"]),
    _summary(PROFILE_ONLY_MODEL, ["TEXT"], ["INFERENCE_PROFILE"], ["TEXT", "IMAGE"]),
    _summary(PROVISIONED_ONLY_MODEL, ["TEXT"], ["PROVISIONED"]),
    _summary(DENIED_MODEL, ["TEXT"], ["ON_DEMAND"]),
    _summary(DENIED_PROFILE_MODEL, ["TEXT"], ["INFERENCE_PROFILE"]),
    _summary(UNCHECKABLE_MODEL, ["TEXT"], ["ON_DEMAND"]),
    _summary(IMAGE_MODEL, ["IMAGE"], ["ON_DEMAND"]),
    _summary(TITAN_V1, ["EMBEDDING"], ["ON_DEMAND"]),
    _summary(TITAN_V2, ["EMBEDDING"], ["ON_DEMAND"]),
    _summary(COHERE_V3, ["EMBEDDING"], ["ON_DEMAND"]),
    _summary(COHERE_V4, ["EMBEDDING"], ["ON_DEMAND"]),
]


def _profile(
    profile_id: str, model_id: str, kind: str, regions: tuple[str, ...] = (REGION, "us-west-2")
) -> dict[str, Any]:
    account = "" if kind == "SYSTEM_DEFINED" else "123456789012"
    resource = "inference-profile" if kind == "SYSTEM_DEFINED" else "application-inference-profile"
    return {
        "inferenceProfileName": f"profile {profile_id}"[:64].replace(".", " ").replace(":", " "),
        "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{account}:{resource}/{profile_id}",
        "inferenceProfileId": profile_id,
        "models": [
            {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}"} for region in regions
        ],
        "status": "ACTIVE",
        "type": kind,
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }


INFERENCE_PROFILES = [
    _profile(PROFILE, PROFILE_ONLY_MODEL, "SYSTEM_DEFINED"),
    _profile(DENIED_PROFILE, DENIED_PROFILE_MODEL, "SYSTEM_DEFINED"),
    _profile("us.amazon.titan-embed-text-v2:0", TITAN_V2, "SYSTEM_DEFINED"),
    _profile(APPLICATION_PROFILE, CHAT_MODEL, "APPLICATION", (REGION,)),
]
NOT_AUTHORIZED = {DENIED_MODEL, DENIED_PROFILE_MODEL}
CHAT_IDS = {
    CHAT_MODEL,
    PROFILE,
    APPLICATION_PROFILE,
    DENIED_MODEL,
    DENIED_PROFILE,
    UNCHECKABLE_MODEL,
    REASONING_MODEL,
    SLOW_MODEL,
    GATED_MODEL,
    MID_STREAM_ERROR_MODEL,
    MID_STREAM_THROTTLE_MODEL,
    CUT_STREAM_MODEL,
}


# -- the server --------------------------------------------------------------------------------


@dataclass
class StubRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    auth: str  # "sigv4" or "bearer"
    access_key: str | None = None


@dataclass
class BedrockStub:
    """Start with `with BedrockStub() as stub:`; point botocore at `stub.url`."""

    credentials: dict[str, tuple[str, str | None]] = field(
        default_factory=lambda: {
            ACCESS_KEY: (SECRET_KEY, None),
            TEMP_ACCESS_KEY: (TEMP_SECRET_KEY, SESSION_TOKEN),
        }
    )
    api_keys: set[str] = field(default_factory=lambda: {API_KEY})
    retry_after: str | None = None  # Retry-After header of throttling answers
    slow_seconds: float = 2.0
    profile_page_size: int = 1  # small, so listing must follow nextToken
    requests: list[StubRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._gate = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the stub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BedrockStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="bedrock-stub", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_gate()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def release_gate(self) -> None:
        self._gate.set()

    def last(self, suffix: str) -> StubRequest:
        """The newest recorded request whose path ends with `suffix`."""
        for request in reversed(self.requests):
            if request.path.endswith(suffix):
                return request
        raise AssertionError(f"no request to *{suffix} among {[r.path for r in self.requests]}")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (a read timeout, a stream closed early) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: BedrockStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep pytest's output clean

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        raw_path = self.path
        path = unquote(urlsplit(raw_path).path)
        query = dict(parse_qsl(urlsplit(raw_path).query))
        try:
            auth, key = self._authenticate(raw_path, headers, body)
            parsed = json.loads(body) if body else None
            self.owner.requests.append(StubRequest(self.command, path, query, headers, parsed, auth, key))
            self._route(path, query, parsed)
        except StubError as error:
            self._error(error)

    def _authenticate(self, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[str, str | None]:
        authorization = headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            if authorization[len("Bearer ") :] not in self.owner.api_keys:
                raise StubError(
                    403,
                    "AccessDeniedException",
                    "Authentication failed: Please make sure your API Key is valid.",
                )
            return "bearer", None
        if not authorization:
            raise StubError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        return "sigv4", verify_sigv4(self.command, raw_path, headers, body, self.owner.credentials)

    def _route(self, path: str, query: dict[str, str], body: Any) -> None:
        if self.command == "GET" and path == "/foundation-models":
            return self._json(200, {"modelSummaries": _filter_models(query)})
        if self.command == "GET" and path == "/inference-profiles":
            return self._json(200, self._profiles(query))
        if self.command == "GET" and path.startswith("/foundation-model-availability/"):
            return self._json(200, _availability(path.rsplit("/", 1)[1]))
        match = re.fullmatch(r"/model/(?P<model>.+)/(?P<action>converse|converse-stream|invoke)", path)
        if self.command != "POST" or match is None:
            raise StubError(404, "UnknownOperationException", f"no route for {self.command} {path}")
        model, action = match["model"], match["action"]
        if model in ERROR_MODELS:
            raise StubError(*ERROR_MODELS[model])
        if action == "invoke":
            return self._invoke(model, body)
        answer = _reply(model, body)
        if model == SLOW_MODEL:
            time.sleep(self.owner.slow_seconds)
        if action == "converse":
            return self._json(200, answer.response())
        return self._stream(model, answer)

    def _profiles(self, query: dict[str, str]) -> dict[str, Any]:
        kind = query.get("type", "SYSTEM_DEFINED")
        matching = [profile for profile in INFERENCE_PROFILES if profile["type"] == kind]
        start = int(query.get("nextToken") or 0)
        size = min(self.owner.profile_page_size, int(query.get("maxResults") or 1000))
        page: dict[str, Any] = {"inferenceProfileSummaries": matching[start : start + size]}
        if start + size < len(matching):
            page["nextToken"] = str(start + size)
        return page

    def _invoke(self, model: str, body: Any) -> None:
        if model not in EMBEDDING_DIMENSIONS and model != "us.amazon.titan-embed-text-v2:0":
            if model in CHAT_IDS or model in {PROVISIONED_ONLY_MODEL}:
                raise StubError(
                    400, "ValidationException", "Malformed input request: #: required key [prompt] not found"
                )
            raise StubError(400, "ValidationException", "The provided model identifier is invalid.")
        model = TITAN_V2 if model.startswith("us.") else model
        if model.startswith("cohere."):
            payload, tokens = _cohere(model, body)
        else:
            payload, tokens = _titan(model, body)
        self._json(
            200,
            payload,
            {"X-Amzn-Bedrock-Input-Token-Count": str(tokens), "X-Amzn-Bedrock-Invocation-Latency": "12"},
        )

    def _stream(self, model: str, answer: Answer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        events = answer.events()
        for index, message in enumerate(events):
            self._chunk(message)
            if index == 1 and model == GATED_MODEL:
                self.owner._gate.wait(timeout=10)
            if index == 1 and model == MID_STREAM_ERROR_MODEL:
                self._chunk(
                    exception_event(
                        "modelStreamErrorException",
                        {
                            "message": "The model stopped unexpectedly.",
                            "originalStatusCode": 500,
                            "originalMessage": "boom",
                        },
                    )
                )
                break
            if index == 1 and model == MID_STREAM_THROTTLE_MODEL:
                self._chunk(
                    exception_event("throttlingException", {"message": "Too many tokens, slow down."})
                )
                break
            if index == 1 and model == CUT_STREAM_MODEL:
                break
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, error: StubError) -> None:
        headers = {"x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        if error.code == "ThrottlingException" and self.owner.retry_after is not None:
            headers["Retry-After"] = self.owner.retry_after
        self._json(error.status, {"message": error.message}, headers)


def _filter_models(query: dict[str, str]) -> list[dict[str, Any]]:
    models = FOUNDATION_MODELS
    if "byOutputModality" in query:
        models = [m for m in models if query["byOutputModality"] in m["outputModalities"]]
    if "byInferenceType" in query:
        models = [m for m in models if query["byInferenceType"] in m["inferenceTypesSupported"]]
    if "byProvider" in query:
        models = [m for m in models if m["providerName"].lower() == query["byProvider"].lower()]
    return models


def _availability(model_id: str) -> dict[str, Any]:
    if model_id == UNCHECKABLE_MODEL:
        raise StubError(
            403,
            "AccessDeniedException",
            "User is not authorized to perform: bedrock:GetFoundationModelAvailability",
        )
    if model_id not in {m["modelId"] for m in FOUNDATION_MODELS}:
        raise StubError(404, "ResourceNotFoundException", f"The model {model_id} does not exist.")
    authorized = model_id not in NOT_AUTHORIZED
    return {
        "modelId": model_id,
        "agreementAvailability": {"status": "AVAILABLE"},
        "authorizationStatus": "AUTHORIZED" if authorized else "NOT_AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE",
    }


# -- embeddings --------------------------------------------------------------------------------


def _vector(text: str, dimension: int) -> list[float]:
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    raw = [rng.uniform(-1, 1) for _ in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [round(x / norm, 6) for x in raw]


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _titan(model: str, body: Any) -> tuple[dict[str, Any], int]:
    if not isinstance(body, dict) or not isinstance(body.get("inputText"), str):
        raise StubError(
            400,
            "ValidationException",
            "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.",
        )
    dimension = EMBEDDING_DIMENSIONS[model]
    if model == TITAN_V2:
        dimension = body.get("dimensions", 1024)
        if dimension not in (256, 512, 1024):
            raise StubError(
                400,
                "ValidationException",
                f"Malformed input request: #/dimensions: {dimension} is not a valid enum value",
            )
    elif set(body) != {"inputText"}:
        raise StubError(
            400,
            "ValidationException",
            f"Malformed input request: extraneous key [{sorted(set(body) - {'inputText'})[0]}] is not permitted",
        )
    vector = _vector(body["inputText"], dimension)
    tokens = _tokens(body["inputText"])
    payload: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": tokens}
    if model == TITAN_V2:
        payload["embeddingsByType"] = {"float": vector}
    return payload, tokens


def _cohere(model: str, body: Any) -> tuple[dict[str, Any], int]:
    if not isinstance(body, dict) or not isinstance(body.get("texts"), list):
        raise StubError(
            400,
            "ValidationException",
            "Malformed input request: #: required key [texts] not found, please reformat your input and try again.",
        )
    if "input_type" not in body:
        raise StubError(
            400,
            "ValidationException",
            "Malformed input request: #: required key [input_type] not found, please reformat your input and try again.",
        )
    texts = body["texts"]
    if len(texts) > 96:
        raise StubError(
            400,
            "ValidationException",
            f"Malformed input request: #/texts: expected maximum item count: 96, found: {len(texts)}",
        )
    dimension = EMBEDDING_DIMENSIONS[model]
    if "output_dimension" in body:
        if model != COHERE_V4:
            raise StubError(
                400,
                "ValidationException",
                "Malformed input request: extraneous key [output_dimension] is not permitted",
            )
        dimension = body["output_dimension"]
    vectors = [_vector(f"{body['input_type']}:{text}", dimension) for text in texts]
    payload: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": texts}
    if body.get("embedding_types"):
        payload |= {"embeddings": {"float": vectors}, "response_type": "embeddings_by_type"}
    else:
        payload |= {"embeddings": vectors, "response_type": "embeddings_floats"}
    return payload, sum(_tokens(text) for text in texts)


# -- Converse ----------------------------------------------------------------------------------


@dataclass
class Answer:
    blocks: list[dict[str, Any]]  # Converse content blocks
    stop_reason: str
    input_tokens: int

    @property
    def output_tokens(self) -> int:
        words = 0
        for block in self.blocks:
            if "text" in block:
                words += len(block["text"].split())
            elif "toolUse" in block:
                words += len(json.dumps(block["toolUse"]["input"]).split())
        return max(words, 1)

    def usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
        }

    def response(self) -> dict[str, Any]:
        return {
            "output": {"message": {"role": "assistant", "content": self.blocks}},
            "stopReason": self.stop_reason,
            "usage": self.usage(),
            "metrics": {"latencyMs": 42},
        }

    def events(self) -> list[bytes]:
        """ConverseStream's events: text as one delta per word (no contentBlockStart, as
        Bedrock does); a tool call as a contentBlockStart with id and name, then its JSON input
        in three fragments; then messageStop and the metadata with usage."""
        out = [event("messageStart", {"role": "assistant"})]
        for index, block in enumerate(self.blocks):
            if "reasoningContent" in block:
                text = block["reasoningContent"]["reasoningText"]["text"]
                out.append(
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": text}}},
                    )
                )
                out.append(
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": "c2ln"}}},
                    )
                )
            elif "text" in block:
                words = block["text"].split(" ")
                for n, word in enumerate(words):
                    piece = word if n == len(words) - 1 else word + " "
                    out.append(
                        event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
                    )
            else:
                tool = block["toolUse"]
                start = {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}}
                out.append(event("contentBlockStart", {"contentBlockIndex": index, "start": start}))
                arguments = json.dumps(tool["input"])
                third = max(1, len(arguments) // 3)
                for piece in (arguments[:third], arguments[third : 2 * third], arguments[2 * third :]):
                    out.append(
                        event(
                            "contentBlockDelta",
                            {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}},
                        )
                    )
            out.append(event("contentBlockStop", {"contentBlockIndex": index}))
        out.append(event("messageStop", {"stopReason": self.stop_reason}))
        out.append(event("metadata", {"usage": self.usage(), "metrics": {"latencyMs": 42}}))
        return out


def _validate(body: Any) -> None:
    """What Bedrock itself refuses, with its messages."""
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        raise StubError(
            400,
            "ValidationException",
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        )
    uses_tools = False
    for i, message in enumerate(messages):
        if i and message["role"] == messages[i - 1]["role"]:
            raise StubError(
                400,
                "ValidationException",
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            )
        if not message.get("content"):
            raise StubError(
                400,
                "ValidationException",
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.",
            )
        for j, block in enumerate(message["content"]):
            if "text" in block and not block["text"].strip():
                raise StubError(
                    400,
                    "ValidationException",
                    f"The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again.",
                )
            uses_tools |= "toolUse" in block or "toolResult" in block
            if "toolResult" in block:
                previous = messages[i - 1]["content"] if i else []
                ids = {b["toolUse"]["toolUseId"] for b in previous if "toolUse" in b}
                if block["toolResult"]["toolUseId"] not in ids:
                    raise StubError(
                        400,
                        "ValidationException",
                        f"messages.{i}.content.{j}.toolResult.toolUseId: no toolUse block with this id in the previous assistant turn.",
                    )
    tool_config = body.get("toolConfig")
    if uses_tools and not tool_config:
        raise StubError(
            400,
            "ValidationException",
            "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
        )
    if tool_config:
        names = [tool["toolSpec"]["name"] for tool in tool_config["tools"]]
        wanted = (tool_config.get("toolChoice") or {}).get("tool", {}).get("name")
        if wanted is not None and wanted not in names:
            raise StubError(
                400,
                "ValidationException",
                f"The tool {wanted} in toolChoice is not one of the tools in toolConfig.tools.",
            )
    temperature = (body.get("inferenceConfig") or {}).get("temperature")
    if temperature is not None and temperature > 1:
        raise StubError(
            400,
            "ValidationException",
            "The value at inferenceConfig.temperature must be less than or equal to 1.",
        )


def _texts(blocks: list[dict[str, Any]]) -> str:
    return " ".join(block["text"] for block in blocks if "text" in block)


def _reply(model: str, body: Any) -> Answer:
    """The deterministic answer. Rules, in order: a model not callable on demand is refused as
    Bedrock refuses it; after tool results → a text quoting them; a forced tool choice, or an
    offered tool named in the last user text → a toolUse with inputs made from the text;
    "forbidden topic" → the guardrail intervenes; otherwise an echo of the last user text that
    also describes its images and documents. `maxTokens` counts words; stop sequences cut."""
    if model in (PROVISIONED_ONLY_MODEL, PROFILE_ONLY_MODEL):
        raise StubError(
            400,
            "ValidationException",
            f"Invocation of model ID {model} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
        )
    if model in NOT_AUTHORIZED or model == DENIED_PROFILE:
        raise StubError(
            403, "AccessDeniedException", "You don't have access to the model with the specified model ID."
        )
    if model in EMBEDDING_DIMENSIONS:
        raise StubError(
            400,
            "ValidationException",
            "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
        )
    if model not in CHAT_IDS:
        raise StubError(400, "ValidationException", "The provided model identifier is invalid.")
    _validate(body)
    messages = body["messages"]
    input_tokens = sum(len(_texts(m["content"]).split()) for m in messages) + len(
        _texts(body.get("system") or []).split()
    )
    last = messages[-1]["content"]
    user_text = _texts(last)
    blocks: list[dict[str, Any]]
    stop = "end_turn"
    results = [b["toolResult"] for b in last if "toolResult" in b]
    tool = _chosen_tool(body.get("toolConfig"), user_text) if not results else None
    if results:
        blocks = [{"text": "Tool results: " + "; ".join(_texts(r["content"]) for r in results)}]
    elif tool is not None:
        tool_input = _tool_input(tool["inputSchema"]["json"], user_text)
        tool_id = (
            "tooluse_" + hashlib.sha256(json.dumps([tool["name"], tool_input]).encode()).hexdigest()[:22]
        )
        blocks = [{"toolUse": {"toolUseId": tool_id, "name": tool["name"], "input": tool_input}}]
        stop = "tool_use"
    elif "forbidden topic" in user_text.lower():
        blocks, stop = [{"text": "Sorry, the model cannot answer this question."}], "guardrail_intervened"
    else:
        media = [
            f"image/{b['image']['format']} ({len(base64.b64decode(b['image']['source']['bytes']))} bytes)"
            for b in last
            if "image" in b and "bytes" in b["image"]["source"]
        ]
        media += [
            f"s3 image {b['image']['source']['s3Location']['uri']}"
            for b in last
            if "image" in b and "s3Location" in b["image"]["source"]
        ]
        media += [
            f"document {b['document']['name']!r} ({b['document']['format']})" for b in last if "document" in b
        ]
        text = f"You said: {user_text}" + (f" [I see {', '.join(media)}]" if media else "")
        inference = body.get("inferenceConfig") or {}
        for sequence in inference.get("stopSequences") or ():
            if sequence in text:
                text, stop = text[: text.index(sequence)].rstrip() or "…", "stop_sequence"
        words = text.split(" ")
        if "maxTokens" in inference and len(words) > inference["maxTokens"]:
            text, stop = " ".join(words[: inference["maxTokens"]]), "max_tokens"
        blocks = [{"text": text}]
        if model == REASONING_MODEL:
            blocks.insert(
                0,
                {
                    "reasoningContent": {
                        "reasoningText": {"text": "The user wants an echo.", "signature": "c2ln"}
                    }
                },
            )
    return Answer(blocks, stop, max(input_tokens, 1))


def _chosen_tool(tool_config: dict[str, Any] | None, user_text: str) -> dict[str, Any] | None:
    if not tool_config:
        return None
    tools = [tool["toolSpec"] for tool in tool_config["tools"]]
    choice = tool_config.get("toolChoice") or {"auto": {}}
    if "tool" in choice:
        return next(tool for tool in tools if tool["name"] == choice["tool"]["name"])
    if "any" in choice:
        return tools[0]
    lowered = user_text.lower()
    return next(
        (t for t in tools if t["name"].lower() in lowered or t["name"].replace("_", " ").lower() in lowered),
        None,
    )


def _tool_input(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for the schema's properties: strings get the last capitalized word of the text."""
    words = [word.strip("?.!,;:") for word in text.split()]
    capitalized = [word for word in words[1:] if word[:1].isupper()]
    values = {
        "string": capitalized[-1] if capitalized else "unknown",
        "integer": 1,
        "number": 1.5,
        "boolean": True,
    }
    return {name: values.get(prop.get("type")) for name, prop in (schema.get("properties") or {}).items()}
