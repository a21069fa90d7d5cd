"""Per-request provider credentials in the X-OGX-Provider-Data header."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.asyncio

CHAT = {"model": "fake/fake-llm", "messages": [{"role": "user", "content": "hi"}]}
HEADER = "X-OGX-Provider-Data"


async def test_the_provider_gets_the_credentials_of_that_request_only(serve, fake_inference):
    async with serve(fake_inference()) as (client, app):
        await client.post("/v1/chat/completions", json=CHAT, headers={HEADER: '{"fake_api_key": "sk-1"}'})
        await client.post("/v1/chat/completions", json=CHAT)
        seen = app.state.ogx.providers[0].impl.seen_api_keys
    assert seen == ["sk-1", None]


@pytest.mark.parametrize("raw", ["not json", "[1]", '"a string"'])
async def test_a_header_that_is_not_a_json_object_is_400(serve, fake_inference, raw):
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/chat/completions", json=CHAT, headers={HEADER: raw})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == HEADER


async def test_a_field_the_provider_rejects_is_400_naming_it_without_echoing_it(
    serve, fake_inference, caplog
):
    caplog.set_level(logging.DEBUG)
    async with serve(fake_inference()) as (client, _):
        response = await client.post(
            "/v1/chat/completions", json=CHAT, headers={HEADER: '{"fake_api_key": {"nested": "sk-leak-me"}}'}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "fake_api_key" in error["message"]
    assert "sk-leak-me" not in response.text
    assert "sk-leak-me" not in caplog.text


async def test_credentials_never_reach_the_logs(serve, fake_inference, caplog):
    caplog.set_level(logging.DEBUG)
    async with serve(fake_inference()) as (client, _):
        await client.post("/v1/chat/completions", json=CHAT, headers={HEADER: '{"fake_api_key": "sk-quiet"}'})
    assert "sk-quiet" not in caplog.text
