"""What is OpenAI's in a batch: the input file's JSONL lines (`custom_id`, `method`, `url`,
`body`) checked and validated as the endpoint would, each run through the service behind that
endpoint, and the output/error files' lines (`id`, `custom_id`, `response`, `error`)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from pydantic import BaseModel, ValidationError

from ogx.batches.core import Line, LineError, LineResult
from ogx.ids import random_hex
from ogx.responses.schema import CreateResponseRequest
from ogx.server.errors import invalid_request, openai_envelope
from ogx_api.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest

# What a line's body is validated as, per endpoint; the other endpoints of OpenAI's enum are
# refused when the batch is created.
BODY_MODELS: dict[str, type[BaseModel]] = {
    "/v1/chat/completions": ChatCompletionRequest,
    "/v1/completions": CompletionRequest,
    "/v1/embeddings": EmbeddingsRequest,
    "/v1/responses": CreateResponseRequest,
}
OPENAI_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)


class BatchFileError(Exception):
    """The input file as a whole cannot be run: the batch fails with this in `errors`."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.line = code, message, line


def parse_lines(data: bytes, endpoint: str, *, max_lines: int) -> list[Line]:
    """The file's requests, each checked; a line that cannot run carries why (`Line.invalid`),
    so it fails alone. Blank lines are skipped."""
    check = _LineChecker(endpoint)
    lines = [check(number, text) for number, text in _numbered(data)]
    if not lines:
        raise BatchFileError("empty_file", "the input file has no requests")
    if len(lines) > max_lines:
        raise BatchFileError(
            "too_many_requests", f"the input file has {len(lines)} requests; at most {max_lines} are allowed"
        )
    return lines


def _numbered(data: bytes) -> Iterator[tuple[int, bytes]]:
    for number, text in enumerate(data.split(b"\n"), start=1):
        if text.strip():
            yield number, text


class _LineChecker:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.body_model = BODY_MODELS[endpoint]
        self.model: str | None = None  # the batch's model: the first line's
        self.custom_ids: set[str] = set()

    def __call__(self, number: int, text: bytes) -> Line:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return _invalid(number, None, "invalid_json", f"line {number} is not valid JSON: {exc}")
        if not isinstance(request, dict):
            return _invalid(number, None, "invalid_request", "a line must be a JSON object")
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            return _invalid(number, None, "missing_custom_id", "custom_id must be a non-empty string")
        if custom_id in self.custom_ids:
            return _invalid(
                number, custom_id, "duplicate_custom_id", f"custom_id {custom_id!r} is used twice"
            )
        self.custom_ids.add(custom_id)
        if request.get("method") != "POST":
            return _invalid(
                number, custom_id, "invalid_method", f"method must be 'POST', got {request.get('method')!r}"
            )
        if request.get("url") != self.endpoint:
            return _invalid(
                number,
                custom_id,
                "invalid_url",
                f"url must be the batch's endpoint {self.endpoint!r}, got {request.get('url')!r}",
            )
        body = request.get("body")
        if not isinstance(body, dict):
            return _invalid(number, custom_id, "invalid_body", "body must be a JSON object")
        model = body.get("model")
        if isinstance(model, str):
            if self.model is None:
                self.model = model
            elif model != self.model:
                return _invalid(
                    number,
                    custom_id,
                    "mixed_models",
                    f"every request of a batch must use one model ({self.model!r}); this one uses {model!r}",
                )
        if body.get("stream") or body.get("background"):
            key = "stream" if body.get("stream") else "background"
            return _invalid(number, custom_id, "invalid_body", f"body.{key}: not supported in a batch")
        try:
            parsed = self.body_model.model_validate(body)
        except ValidationError as exc:
            return _invalid(number, custom_id, "invalid_body", invalid_request(exc, body).message)
        return Line(number, custom_id, parsed)


def _invalid(number: int, custom_id: str | None, code: str, message: str) -> Line:
    return Line(number, custom_id, invalid=LineError(code, f"line {number}: {message}"))


def output_line(result: LineResult) -> bytes:
    """The line an output or error file holds for a result."""
    error = result.error
    response = None
    if error is None:
        if result.failure is not None:
            status, body = result.failure.status_code, openai_envelope(result.failure)
        else:
            status, body = 200, result.body
        response = {"status_code": status, "request_id": f"req_{random_hex(16)}", "body": body}
    line = {
        "id": f"batch_req_{random_hex(16)}",
        "custom_id": result.line.custom_id,
        "response": response,
        "error": None if error is None else {"code": error.code, "message": error.message},
    }
    return orjson.dumps(line) + b"\n"
