"""The Bedrock provider end to end against `BedrockStub` (a local server speaking Bedrock's wire
protocol, standing in for AWS, which is unreachable here): real botocore clients, real SigV4 or
bearer authentication, real JSON and event-stream framing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from bedrock_stub import (
    ACCESS_KEY,
    API_KEY,
    APPLICATION_PROFILE,
    CHAT_MODEL,
    COHERE_V3,
    COHERE_V4,
    CUT_STREAM_MODEL,
    DENIED_MODEL,
    ERROR_MODELS,
    GATED_MODEL,
    MID_STREAM_ERROR_MODEL,
    MID_STREAM_THROTTLE_MODEL,
    PROFILE,
    PROFILE_ONLY_MODEL,
    REASONING_MODEL,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    SLOW_MODEL,
    TEMP_ACCESS_KEY,
    TEMP_SECRET_KEY,
    TITAN_V1,
    TITAN_V2,
    UNCHECKABLE_MODEL,
    BedrockStub,
)
from pydantic import ValidationError

from ogx_api import (
    Forbidden,
    InvalidRequest,
    NotFound,
    OGXError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from ogx_api.inference import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
    InferenceProvider,
    ModelType,
)
from ogx_api.provider import HealthState
from ogx_bedrock.adapter import create_provider
from ogx_bedrock.config import BedrockConfig
from ogx_bedrock.errors import DEFAULT_RETRY_AFTER

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ProviderFactory = Any  # conftest's `bedrock` fixture: `async with bedrock(**overrides) as provider`
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def chat(model: str = CHAT_MODEL, text: str = "Hello there", **fields: Any) -> ChatCompletionRequest:
    body = {"model": model, "messages": [{"role": "user", "content": text}]} | fields
    return ChatCompletionRequest.model_validate(body)


async def collect(stream: Any) -> list[Any]:
    return [item async for item in stream]


def streamed_text(chunks: list[Any]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# -- construction and config -------------------------------------------------------------------


def test_factory_returns_an_inference_provider() -> None:
    provider = create_provider(BedrockConfig(region=REGION), {})
    assert isinstance(provider, InferenceProvider)


def _config_in_subprocess(env: dict[str, str], code: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-c", "from ogx_bedrock.config import BedrockConfig; " + code],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_region_and_api_key_default_from_the_aws_environment() -> None:
    show = "c = BedrockConfig(); print(c.region, c.api_key.get_secret_value() if c.api_key else None)"
    assert (
        _config_in_subprocess({"AWS_REGION": "eu-west-3", "AWS_BEARER_TOKEN_BEDROCK": "tok"}, show)
        == "eu-west-3 tok"
    )
    assert _config_in_subprocess({"AWS_DEFAULT_REGION": "ap-south-1"}, show) == "ap-south-1 None"
    assert _config_in_subprocess({}, show) == "None None"


def test_env_api_key_does_not_override_configured_keys_or_profile() -> None:
    env = {"AWS_BEARER_TOKEN_BEDROCK": "tok"}
    keys = "print(BedrockConfig(aws_access_key_id='A', aws_secret_access_key='S').api_key)"
    profile = "print(BedrockConfig(profile_name='dev').api_key)"
    assert _config_in_subprocess(env, keys) == "None"
    assert _config_in_subprocess(env, profile) == "None"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"aws_access_key_id": "A"}, "must be given together"),
        ({"aws_secret_access_key": "S"}, "must be given together"),
        ({"aws_session_token": "T"}, "needs aws_access_key_id"),
        ({"api_key": "k", "endpoint_url": "http://bedrock.internal:8080"}, "clear text"),
        ({"endpoint_url": "ftp://x"}, "http:// or https://"),
    ],
)
def test_config_errors_name_the_problem(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BedrockConfig.model_validate({"region": REGION} | fields)


def test_api_key_over_https_or_loopback_is_accepted() -> None:
    for url in (
        "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com",
        "http://127.0.0.1:9",
        "http://localhost:9",
    ):
        assert BedrockConfig.model_validate({"api_key": "k", "endpoint_url": url}).uses_api_key


def test_secrets_are_hidden_in_config_repr() -> None:
    config = BedrockConfig.model_validate(
        {"aws_access_key_id": "A", "aws_secret_access_key": SECRET_KEY, "aws_session_token": SESSION_TOKEN}
    )
    assert SECRET_KEY not in repr(config) and SESSION_TOKEN not in str(config.model_dump())


# -- chat --------------------------------------------------------------------------------------


async def test_chat_completion_is_signed_with_sigv4_for_bedrock(
    stub: BedrockStub, bedrock: ProviderFactory
) -> None:
    request = chat(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        max_tokens=50,
        temperature=0.5,
        top_k=20,
    )
    async with bedrock() as provider:
        response = await provider.chat_completion(request)

    assert response["choices"][0]["message"] == {"role": "assistant", "content": "You said: Hello there"}
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}
    assert response["model"] == CHAT_MODEL and response["id"].startswith("chatcmpl-")
    sent = stub.last("/converse")
    assert sent.path == f"/model/{CHAT_MODEL}/converse"
    assert sent.auth == "sigv4" and sent.access_key == ACCESS_KEY
    assert f"/{REGION}/bedrock/aws4_request" in sent.headers["authorization"]
    assert sent.body == {
        "messages": [{"role": "user", "content": [{"text": "Hello there"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 50, "temperature": 0.5},
        "additionalModelRequestFields": {"top_k": 20},
    }


async def test_tool_call_round_trip(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    question = {"role": "user", "content": "Use get_weather: what is it like in Paris?"}
    async with bedrock() as provider:
        first = await provider.chat_completion(chat(messages=[question], tools=[WEATHER_TOOL]))
        choice = first["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        (call,) = choice["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
        assert stub.last("/converse").body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"

        # The stub checks Bedrock's rules: alternating turns, a toolResult answering the toolUse.
        second = await provider.chat_completion(
            chat(
                messages=[
                    question,
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": call["id"], "content": "Sunny, 24°C"},
                ],
                tools=[WEATHER_TOOL],
            )
        )
    assert second["choices"][0]["message"]["content"] == "Tool results: Sunny, 24°C"
    assert second["choices"][0]["finish_reason"] == "stop"
    assert stub.last("/converse").body["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": call["id"], "content": [{"text": "Sunny, 24°C"}]}}
    ]


async def test_forced_tool_choice(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    request = chat(
        text="Tell me about Rome",
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    async with bedrock() as provider:
        response = await provider.chat_completion(request)
    assert response["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Rome"}'
    assert stub.last("/converse").body["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}


async def test_images_reach_bedrock_as_bytes(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "image_url", "image_url": {"url": "s3://photos/cat.webp"}},
    ]
    async with bedrock() as provider:
        response = await provider.chat_completion(chat(messages=[{"role": "user", "content": content}]))
    assert response["choices"][0]["message"]["content"] == (
        f"You said: What is this? [I see image/png ({len(PNG)} bytes), s3 image s3://photos/cat.webp]"
    )
    blocks = stub.last("/converse").body["messages"][0]["content"]
    assert blocks[1] == {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}
    assert blocks[2] == {
        "image": {"format": "webp", "source": {"s3Location": {"uri": "s3://photos/cat.webp"}}}
    }


@pytest.mark.parametrize(
    ("fields", "finish_reason", "content"),
    [
        ({"max_tokens": 3}, "length", "You said: One"),
        ({"stop": ["three"]}, "stop", "You said: One two"),
        (
            {"messages": [{"role": "user", "content": "A forbidden topic"}]},
            "content_filter",
            "Sorry, the model cannot answer this question.",
        ),
    ],
)
async def test_stop_reasons(
    bedrock: ProviderFactory, fields: dict[str, Any], finish_reason: str, content: str
) -> None:
    async with bedrock() as provider:
        response = await provider.chat_completion(chat(text="One two three four", **fields))
    assert response["choices"][0]["finish_reason"] == finish_reason
    assert response["choices"][0]["message"]["content"] == content


async def test_inference_profiles_are_callable_by_id(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        for model in (PROFILE, APPLICATION_PROFILE):
            response = await provider.chat_completion(chat(model))
            assert response["choices"][0]["message"]["content"] == "You said: Hello there"
            assert stub.last("/converse").path == f"/model/{model}/converse"


async def test_reasoning_content(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        response = await provider.chat_completion(chat(REASONING_MODEL))
        chunks = await collect(provider.chat_completion_stream(chat(REASONING_MODEL, stream=True)))
    assert response["choices"][0]["message"]["reasoning_content"] == "The user wants an echo."
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in chunks if c["choices"]]
    assert "The user wants an echo." in reasoning


# -- streaming ---------------------------------------------------------------------------------


async def test_stream_of_text_with_usage(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    request = chat(text="One two three", stream=True, stream_options={"include_usage": True})
    async with bedrock() as provider:
        chunks = await collect(provider.chat_completion_stream(request))
    assert stub.last("/converse-stream").path == f"/model/{CHAT_MODEL}/converse-stream"
    assert streamed_text(chunks) == "You said: One two three"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert len({chunk["id"] for chunk in chunks}) == 1
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


async def test_stream_of_tool_call_arguments(bedrock: ProviderFactory) -> None:
    request = chat(text="What does get_weather say for Lisbon?", tools=[WEATHER_TOOL], stream=True)
    async with bedrock() as provider:
        chunks = await collect(provider.chat_completion_stream(request))
    calls = [
        call for c in chunks if c["choices"] for call in c["choices"][0]["delta"].get("tool_calls") or ()
    ]
    assert calls[0]["id"].startswith("tooluse_") and calls[0]["function"]["name"] == "get_weather"
    fragments = [call["function"]["arguments"] for call in calls[1:]]
    assert len(fragments) == 3, "Bedrock's input fragments are relayed one by one"
    assert {call["index"] for call in calls} == {0}
    assert json.loads("".join(fragments)) == {"city": "Lisbon"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_stream_relays_events_as_they_arrive(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        stream = provider.chat_completion_stream(chat(GATED_MODEL, text="One two", stream=True))
        # The stub sends the rest only after release_gate(): a provider that buffered the
        # stream would never see these two chunks.
        first = await asyncio.wait_for(anext(stream), timeout=5)
        second = await asyncio.wait_for(anext(stream), timeout=5)
        stub.release_gate()
        rest = await collect(stream)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert second["choices"][0]["delta"] == {"content": "You "}
    assert streamed_text([second, *rest]) == "You said: One two"


async def test_consumer_leaving_early_closes_the_stream(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        stream = provider.chat_completion_stream(chat(GATED_MODEL, stream=True))
        await asyncio.wait_for(anext(stream), timeout=5)
        await stream.aclose()  # while the stub still holds the rest back
        stub.release_gate()
        response = await provider.chat_completion(chat())  # the provider is still usable
    assert response["choices"][0]["message"]["content"]


async def test_consumer_leaving_before_bedrock_answers(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    stub.slow_seconds = 0.5
    async with bedrock() as provider:
        stream = provider.chat_completion_stream(chat(SLOW_MODEL, stream=True))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), timeout=0.1)
        await asyncio.sleep(0.6)  # the answer arrives after its caller left, and is closed
        chunks = await collect(provider.chat_completion_stream(chat(stream=True)))
    assert streamed_text(chunks) == "You said: Hello there"


async def test_error_event_mid_stream_raises_after_what_was_relayed(bedrock: ProviderFactory) -> None:
    received: list[Any] = []
    async with bedrock() as provider:
        with pytest.raises(ProviderError, match="The model stopped unexpectedly") as caught:
            async for chunk in provider.chat_completion_stream(chat(MID_STREAM_ERROR_MODEL, stream=True)):
                received.append(chunk)
    assert streamed_text(received) == "You "
    assert caught.value.status_code == 502


async def test_throttling_mid_stream_is_rate_limited(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        stream = provider.chat_completion_stream(chat(MID_STREAM_THROTTLE_MODEL, stream=True))
        with pytest.raises(RateLimited, match="Too many tokens, slow down") as caught:
            await collect(stream)
    assert caught.value.status_code == 429 and caught.value.retry_after == DEFAULT_RETRY_AFTER


async def test_stream_ending_without_message_stop_is_a_provider_error(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        with pytest.raises(ProviderError, match="before messageStop"):
            await collect(provider.chat_completion_stream(chat(CUT_STREAM_MODEL, stream=True)))


# -- errors ------------------------------------------------------------------------------------

EXPECTED_ERRORS: dict[str, tuple[type[OGXError], int]] = {
    "stub.throttled": (RateLimited, 429),
    "stub.quota": (RateLimited, 429),
    "stub.denied": (Forbidden, 403),
    "stub.invalid": (InvalidRequest, 400),
    "stub.missing": (NotFound, 404),
    "stub.model-timeout": (ProviderTimeout, 504),
    "stub.unavailable": (ProviderUnavailable, 503),
    "stub.not-ready": (ProviderUnavailable, 503),
    "stub.internal": (ProviderError, 502),
    "stub.model-error": (ProviderError, 502),
}


@pytest.mark.parametrize("model", sorted(EXPECTED_ERRORS))
async def test_bedrock_errors_keep_their_meaning_and_message(bedrock: ProviderFactory, model: str) -> None:
    error_class, status = EXPECTED_ERRORS[model]
    bedrock_message = ERROR_MODELS[model][2]
    async with bedrock() as provider:
        with pytest.raises(OGXError) as caught:
            await provider.chat_completion(chat(model))
        received: list[Any] = []
        with pytest.raises(OGXError) as caught_stream:
            async for chunk in provider.chat_completion_stream(chat(model, stream=True)):
                received.append(chunk)
    for error in (caught.value, caught_stream.value):
        assert type(error) is error_class
        assert error.status_code == status
        assert error.message == bedrock_message
    assert received == [], "a refused stream raises before its first chunk"


async def test_throttling_retry_after(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        with pytest.raises(RateLimited) as without_header:
            await provider.chat_completion(chat("stub.throttled"))
        stub.retry_after = "7"
        with pytest.raises(RateLimited) as with_header:
            await provider.chat_completion(chat("stub.throttled"))
    assert without_header.value.retry_after == DEFAULT_RETRY_AFTER
    assert with_header.value.retry_after == 7.0


async def test_bedrock_validation_errors_keep_bedrocks_message(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        with pytest.raises(InvalidRequest, match="on-demand throughput isn't supported"):
            await provider.chat_completion(chat(PROFILE_ONLY_MODEL))
        with pytest.raises(InvalidRequest, match="must start with a user message"):
            await provider.chat_completion(chat(messages=[{"role": "assistant", "content": "x"}]))
        with pytest.raises(Forbidden, match="don't have access to the model"):
            await provider.chat_completion(chat(DENIED_MODEL))


async def test_retries_follow_max_attempts(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock(max_attempts=2) as provider:
        with pytest.raises(ProviderUnavailable):
            await provider.chat_completion(chat("stub.unavailable"))
    assert len([r for r in stub.requests if r.path.endswith("/converse")]) == 2


async def test_read_timeout_is_provider_timeout(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    stub.slow_seconds = 1.5
    async with bedrock(read_timeout=0.3) as provider:
        with pytest.raises(ProviderTimeout) as caught:
            await provider.chat_completion(chat(SLOW_MODEL))
    assert caught.value.status_code == 504


async def test_unreachable_endpoint_is_provider_unavailable(config_for: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}"
    provider = create_provider(config_for(endpoint_url=url, control_plane_endpoint_url=url), {})
    await provider.start()
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.chat_completion(chat())
        health = await provider.health()
    finally:
        await provider.close()
    assert caught.value.status_code == 503 and str(closed_port) in caught.value.message
    assert health.status == HealthState.error and health.message


# -- authentication ----------------------------------------------------------------------------


async def test_bearer_api_key(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock(api_key=API_KEY, aws_access_key_id=None, aws_secret_access_key=None) as provider:
        response = await provider.chat_completion(chat())
        await provider.list_models()
    assert response["choices"][0]["message"]["content"]
    assert {request.auth for request in stub.requests} == {"bearer"}
    assert stub.last("/converse").headers["authorization"] == f"Bearer {API_KEY}"
    assert "x-amz-date" not in stub.last("/converse").headers


async def test_bearer_api_key_from_the_environment(
    stub: BedrockStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", API_KEY)
    config = BedrockConfig(
        region=REGION, endpoint_url=stub.url, control_plane_endpoint_url=stub.url, max_attempts=1
    )
    provider = create_provider(config, {})
    await provider.start()
    try:
        await provider.chat_completion(chat())
    finally:
        await provider.close()
    assert stub.last("/converse").headers["authorization"] == f"Bearer {API_KEY}"


async def test_configured_keys_win_over_a_bearer_token_in_the_environment(
    stub: BedrockStub, bedrock: ProviderFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore on its own would switch to bearer auth when it sees this variable.
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", API_KEY)
    async with bedrock() as provider:
        await provider.chat_completion(chat())
    assert stub.last("/converse").auth == "sigv4"


async def test_wrong_api_key_is_forbidden_and_not_echoed(bedrock: ProviderFactory) -> None:
    async with bedrock(api_key="ABSK-wrong", aws_access_key_id=None, aws_secret_access_key=None) as provider:
        with pytest.raises(Forbidden, match="API Key is valid") as caught:
            await provider.chat_completion(chat())
    assert "ABSK-wrong" not in caught.value.message


async def test_temporary_credentials_send_the_session_token(
    stub: BedrockStub, bedrock: ProviderFactory
) -> None:
    creds = {"aws_access_key_id": TEMP_ACCESS_KEY, "aws_secret_access_key": TEMP_SECRET_KEY}
    async with bedrock(**creds, aws_session_token=SESSION_TOKEN) as provider:
        await provider.chat_completion(chat())
    sent = stub.last("/converse")
    assert sent.access_key == TEMP_ACCESS_KEY and sent.headers["x-amz-security-token"] == SESSION_TOKEN
    async with bedrock(**creds) as provider:
        with pytest.raises(Forbidden, match="security token included in the request is invalid"):
            await provider.chat_completion(chat())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aws_secret_access_key": "not-the-secret"}, "signature we calculated does not match"),
        ({"aws_access_key_id": "AKIDUNKNOWN000000000"}, "security token included in the request is invalid"),
        ({"region": "eu-central-1"}, "valid region"),
    ],
)
async def test_bad_sigv4_credentials_are_forbidden(
    bedrock: ProviderFactory, overrides: dict[str, str], message: str
) -> None:
    async with bedrock(**overrides) as provider:
        with pytest.raises(Forbidden, match=message) as caught:
            await provider.chat_completion(chat())
    assert "not-the-secret" not in caught.value.message


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS environment with nothing from this machine: empty config files, no metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


async def _call_without_explicit_keys(stub: BedrockStub, **fields: Any) -> None:
    config = BedrockConfig(
        region=REGION, endpoint_url=stub.url, control_plane_endpoint_url=stub.url, max_attempts=1, **fields
    )
    provider = create_provider(config, {})
    await provider.start()
    try:
        await provider.chat_completion(chat())
    finally:
        await provider.close()


async def test_credentials_from_a_profile(stub: BedrockStub, aws_home: Path) -> None:
    (aws_home / "credentials").write_text(
        f"[ogx-test]\naws_access_key_id = {TEMP_ACCESS_KEY}\naws_secret_access_key = {TEMP_SECRET_KEY}\n"
        f"aws_session_token = {SESSION_TOKEN}\n"
    )
    await _call_without_explicit_keys(stub, profile_name="ogx-test")
    assert stub.last("/converse").access_key == TEMP_ACCESS_KEY


async def test_credentials_from_the_standard_environment_chain(
    stub: BedrockStub, aws_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    await _call_without_explicit_keys(stub)
    assert stub.last("/converse").access_key == ACCESS_KEY


async def test_no_credentials_at_all_is_explained(stub: BedrockStub, aws_home: Path) -> None:
    with pytest.raises(ProviderError, match="no usable AWS credentials"):
        await _call_without_explicit_keys(stub)


async def test_injected_clients_are_used_and_left_open(stub: BedrockStub) -> None:
    session = botocore.session.Session()
    keys: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": stub.url,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
    }
    runtime = session.create_client("bedrock-runtime", **keys)
    control = session.create_client("bedrock", **keys)
    provider = create_provider(BedrockConfig(region="us-west-2"), {}, client=runtime, control_client=control)
    await provider.start()
    await provider.chat_completion(chat())
    assert (await provider.health()).status == HealthState.ok
    await provider.close()
    assert runtime.converse(modelId=CHAT_MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}])[
        "stopReason"
    ]
    runtime.close()
    control.close()


async def test_calls_before_start_fail_clearly() -> None:
    provider = create_provider(BedrockConfig(region=REGION), {})
    with pytest.raises(RuntimeError, match="not started"):
        await provider.chat_completion(chat())


# -- models ------------------------------------------------------------------------------------


async def test_list_models_lists_what_the_account_can_call(
    stub: BedrockStub, bedrock: ProviderFactory
) -> None:
    async with bedrock() as provider:
        models = {model.provider_model_id: model for model in await provider.list_models()}
    assert {model_id: model.model_type for model_id, model in models.items()} == {
        CHAT_MODEL: ModelType.llm,
        UNCHECKABLE_MODEL: ModelType.llm,  # access unknown (no permission to check): kept
        TITAN_V1: ModelType.embedding,
        TITAN_V2: ModelType.embedding,
        COHERE_V3: ModelType.embedding,
        COHERE_V4: ModelType.embedding,
        PROFILE: ModelType.llm,  # its model is callable only through this profile
        "us.amazon.titan-embed-text-v2:0": ModelType.embedding,
        APPLICATION_PROFILE: ModelType.llm,
    }
    assert models[TITAN_V2].metadata == {"embedding_dimension": 1024}
    assert models[COHERE_V4].metadata == {"embedding_dimension": 1536}
    profile_pages = [r for r in stub.requests if r.path == "/inference-profiles"]
    assert len(profile_pages) > 2, "ListInferenceProfiles pages must be followed through nextToken"
    assert {r.query["type"] for r in profile_pages} == {"SYSTEM_DEFINED", "APPLICATION"}
    assert {r.auth for r in stub.requests} == {"sigv4"}


async def test_list_models_without_access_checks(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock(check_model_access=False) as provider:
        ids = {model.provider_model_id for model in await provider.list_models()}
    assert DENIED_MODEL in ids
    assert not [r for r in stub.requests if r.path.startswith("/foundation-model-availability/")]


async def test_health(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        assert (await provider.health()).status == HealthState.ok


# -- embeddings --------------------------------------------------------------------------------


async def test_titan_embeddings_one_call_per_input(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    inputs = ["first text here", "second", "first text here"]
    async with bedrock() as provider:
        response = await provider.embeddings(EmbeddingsRequest(model=TITAN_V1, input=inputs))
    calls = [r for r in stub.requests if r.path == f"/model/{TITAN_V1}/invoke"]
    assert sorted(call.body["inputText"] for call in calls) == sorted(inputs)
    assert all(set(call.body) == {"inputText"} for call in calls)
    assert [item["index"] for item in response["data"]] == [0, 1, 2]
    vectors = [item["embedding"] for item in response["data"]]
    assert {len(vector) for vector in vectors} == {1536}
    assert vectors[0] == vectors[2] != vectors[1]
    assert response["usage"] == {"prompt_tokens": 7, "total_tokens": 7}
    assert response["model"] == TITAN_V1


async def test_titan_v2_dimensions(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        response = await provider.embeddings(
            EmbeddingsRequest.model_validate(
                {"model": TITAN_V2, "input": "hi", "dimensions": 256, "normalize": True}
            )
        )
        with pytest.raises(InvalidRequest, match="is not a valid enum value"):
            await provider.embeddings(EmbeddingsRequest(model=TITAN_V2, input="hi", dimensions=100))
        with pytest.raises(InvalidRequest, match="does not support `dimensions`"):
            await provider.embeddings(EmbeddingsRequest(model=TITAN_V1, input="hi", dimensions=256))
    assert len(response["data"][0]["embedding"]) == 256
    assert stub.last(f"{TITAN_V2}/invoke").body == {"inputText": "hi", "dimensions": 100}


async def test_cohere_embeddings_are_batched(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    inputs = [f"text number {i}" for i in range(100)]
    async with bedrock() as provider:
        response = await provider.embeddings(EmbeddingsRequest(model=COHERE_V3, input=inputs))
    calls = [r for r in stub.requests if r.path == f"/model/{COHERE_V3}/invoke"]
    assert sorted(len(call.body["texts"]) for call in calls) == [4, 96]  # sent concurrently
    assert sorted(text for call in calls for text in call.body["texts"]) == sorted(inputs)
    assert calls[0].body | {"texts": None} == {
        "texts": None,
        "input_type": "search_document",
        "embedding_types": ["float"],
    }
    assert len(response["data"]) == 100 and [item["index"] for item in response["data"]] == list(range(100))
    assert response["usage"]["prompt_tokens"] == 300  # from Bedrock's X-Amzn-Bedrock-Input-Token-Count


async def test_cohere_parameters_pass_through(stub: BedrockStub, bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        query = await provider.embeddings(
            EmbeddingsRequest.model_validate(
                {"model": COHERE_V4, "input": ["q"], "input_type": "search_query", "dimensions": 512}
            )
        )
        document = await provider.embeddings(EmbeddingsRequest(model=COHERE_V4, input=["q"], dimensions=512))
    assert stub.last(f"{COHERE_V4}/invoke").body["output_dimension"] == 512
    assert len(query["data"][0]["embedding"]) == 512
    assert query["data"][0]["embedding"] != document["data"][0]["embedding"], "input_type reached Cohere"


async def test_base64_embeddings(bedrock: ProviderFactory) -> None:
    async with bedrock() as provider:
        floats = await provider.embeddings(EmbeddingsRequest(model=COHERE_V3, input="x"))
        encoded = await provider.embeddings(
            EmbeddingsRequest(model=COHERE_V3, input="x", encoding_format="base64")
        )
    raw = base64.b64decode(encoded["data"][0]["embedding"])  # type: ignore[arg-type]
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(floats["data"][0]["embedding"], abs=1e-6)


@pytest.mark.parametrize(
    ("model", "text_input", "param"),
    [(CHAT_MODEL, "x", "model"), (COHERE_V3, [1, 2, 3], "input"), (COHERE_V3, [], "input")],
)
async def test_embedding_requests_bedrock_cannot_serve(
    bedrock: ProviderFactory, model: str, text_input: Any, param: str
) -> None:
    async with bedrock() as provider:
        with pytest.raises(InvalidRequest) as caught:
            await provider.embeddings(EmbeddingsRequest(model=model, input=text_input))
    assert caught.value.param == param


# -- completions -------------------------------------------------------------------------------


async def test_completion_wraps_the_prompt_as_a_user_message(
    stub: BedrockStub, bedrock: ProviderFactory
) -> None:
    async with bedrock() as provider:
        completion = await provider.completion(
            CompletionRequest(model=CHAT_MODEL, prompt="Once upon a time", max_tokens=4)
        )
        chunks = await collect(
            provider.completion_stream(CompletionRequest(model=CHAT_MODEL, prompt="Once", stream=True))
        )
    assert completion["object"] == "text_completion"
    assert completion["choices"][0]["text"] == "You said: Once upon"
    assert completion["choices"][0]["finish_reason"] == "length"
    assert completion["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}
    assert stub.last("/converse-stream").body["messages"] == [{"role": "user", "content": [{"text": "Once"}]}]
    assert "".join(c["choices"][0]["text"] for c in chunks) == "You said: Once"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
