"""Per-request credentials through `X-OGX-Provider-Data`: the stub verifies each SigV4 signature
against the keys it knows, so a request signed with anything but the per-request keys fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bedrock_stub import (
    ACCESS_KEY,
    API_KEY,
    CHAT_MODEL,
    SESSION_TOKEN,
    TEMP_ACCESS_KEY,
    TEMP_SECRET_KEY,
    TITAN_V2,
    BedrockStub,
)

from ogx_api import Forbidden, InvalidRequest
from ogx_api.inference import ChatCompletionRequest, EmbeddingsRequest
from ogx_api.request_context import reset_provider_data, set_provider_data, validate_provider_data
from ogx_bedrock.config import BedrockProviderData
from ogx_bedrock.plugin import ogx_provider_specs

TEMPORARY = {
    "aws_access_key_id": TEMP_ACCESS_KEY,
    "aws_secret_access_key": TEMP_SECRET_KEY,
    "aws_session_token": SESSION_TOKEN,
}


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello"}]} | fields
    )


@contextmanager
def sent(data: dict[str, Any]) -> Iterator[None]:
    """As if the request carried `data` in its `X-OGX-Provider-Data` header."""
    token = set_provider_data(data)
    try:
        yield
    finally:
        reset_provider_data(token)


def test_the_spec_declares_the_validator() -> None:
    (spec,) = ogx_provider_specs()
    assert spec.provider_data_validator == "ogx_bedrock.config:BedrockProviderData"


async def test_per_request_keys_sign_chat_streams_and_embeddings(stub: BedrockStub, bedrock: Any) -> None:
    async with bedrock() as provider:
        await provider.chat_completion(chat())
        assert stub.last("/converse").access_key == ACCESS_KEY  # the configured keys

        with sent({**TEMPORARY, "ollama_api_key": "another provider's field"}):
            answer = await provider.chat_completion(chat())
            assert answer["choices"][0]["message"]["content"]
            converse = stub.last("/converse")
            assert converse.auth == "sigv4" and converse.access_key == TEMP_ACCESS_KEY
            assert converse.headers["x-amz-security-token"] == SESSION_TOKEN

            chunks = [chunk async for chunk in provider.chat_completion_stream(chat(stream=True))]
            assert chunks and stub.last("/converse-stream").access_key == TEMP_ACCESS_KEY
            request = EmbeddingsRequest.model_validate({"model": TITAN_V2, "input": ["a", "b"]})
            assert len((await provider.embeddings(request))["data"]) == 2
            assert stub.last("/invoke").access_key == TEMP_ACCESS_KEY
            await provider.chat_completion(chat())
            assert len(provider._request_clients) == 1  # one client for these keys, reused

        await provider.chat_completion(chat())
        assert stub.last("/converse").access_key == ACCESS_KEY  # back to the configured keys


async def test_a_per_request_bedrock_api_key_is_sent_as_bearer(stub: BedrockStub, bedrock: Any) -> None:
    async with bedrock() as provider:
        with sent({"bedrock_api_key": API_KEY}):
            await provider.chat_completion(chat())
    converse = stub.last("/converse")
    assert converse.auth == "bearer" and converse.headers["authorization"] == f"Bearer {API_KEY}"
    assert "x-amz-date" not in converse.headers


async def test_wrong_per_request_keys_are_refused_without_leaking_them(
    stub: BedrockStub, bedrock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_secret = "not/the/secret/key/for/this/access/key/0001"
    caplog.set_level(logging.DEBUG)
    async with bedrock() as provider:
        wrong = {"aws_access_key_id": TEMP_ACCESS_KEY, "aws_secret_access_key": wrong_secret}
        with sent(wrong), pytest.raises(Forbidden) as refused:
            await provider.chat_completion(chat())
    assert wrong_secret not in refused.value.message
    assert wrong_secret not in caplog.text


async def test_a_per_request_api_key_is_never_sent_over_plain_http(bedrock: Any) -> None:
    async with bedrock(endpoint_url="http://bedrock.internal.example:8080") as provider:
        with sent({"bedrock_api_key": API_KEY}), pytest.raises(InvalidRequest) as refused:
            await provider.chat_completion(chat())
    assert refused.value.param == "X-OGX-Provider-Data" and API_KEY not in refused.value.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"aws_access_key_id": TEMP_ACCESS_KEY}, "must be given together"),
        ({"aws_session_token": SESSION_TOKEN}, "needs aws_access_key_id"),
        ({"bedrock_api_key": API_KEY, **TEMPORARY}, "either bedrock_api_key or AWS access keys"),
    ],
)
def test_malformed_provider_data_is_a_400_that_does_not_echo_secrets(
    data: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_provider_data(BedrockProviderData, data)
    assert fragment in refused.value.message
    assert all(secret not in refused.value.message for secret in (SESSION_TOKEN, API_KEY, TEMP_SECRET_KEY))
