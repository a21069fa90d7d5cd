"""Models, providers, health, version and routes endpoints; error envelopes for unknown routes."""

from __future__ import annotations

import gc

import pytest

from ogx import __version__
from ogx.server.heap import STARTUP_YOUNG_THRESHOLD, collect_less_until_ready

pytestmark = pytest.mark.asyncio


async def test_models_are_listed_in_openai_shape_and_retrievable_by_id_with_a_slash(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        listed = (await client.get("/v1/models")).json()
        one = await client.get("/v1/models/fake/fake-embed")
    assert listed["object"] == "list"
    assert {m["id"] for m in listed["data"]} == {"fake/fake-llm", "fake/fake-embed"}
    assert all({"id", "object", "created", "owned_by"} <= set(m) for m in listed["data"])
    assert one.status_code == 200
    assert one.json()["ogx"]["model_type"] == "embedding"
    assert one.json()["ogx"]["metadata"]["embedding_dimension"] == 8


async def test_unknown_model_retrieval_is_404(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        response = await client.get("/v1/models/fake/none")
    assert response.status_code == 404
    assert "fake/fake-llm" in response.json()["error"]["message"]


async def test_discovered_models_are_persisted_for_when_the_provider_is_down(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        assert len((await client.get("/v1/models")).json()["data"]) == 2
    async with serve(fake_inference(fail_list_models=True)) as (client, _):
        ids = {m["id"] for m in (await client.get("/v1/models")).json()["data"]}
        routed = await client.post(
            "/v1/chat/completions",
            json={"model": "fake/fake-llm", "messages": [{"role": "user", "content": "x"}]},
        )
    assert ids == {"fake/fake-llm", "fake/fake-embed"}
    assert routed.status_code == 200


async def test_providers_show_config_with_secrets_redacted_and_health(serve, fake_inference):
    async with serve(fake_inference(api_key="sk-very-secret")) as (client, _):
        listed = await client.get("/v1/providers")
        one = await client.get("/v1/providers/fake")
        missing = await client.get("/v1/providers/nope")
    assert "sk-very-secret" not in listed.text and "sk-very-secret" not in one.text
    provider = one.json()
    assert provider["config"]["api_key"] == "********"
    assert provider["provider_type"] == "inline::fake" and provider["api"] == "inference"
    assert provider["health"]["status"] == "OK"
    assert provider["plugin"]["distribution"] == "ogx-api"
    assert listed.json()["data"] == [provider]
    assert missing.status_code == 404 and "fake" in missing.json()["error"]["message"]


async def test_health_version_and_routes(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        health = (await client.get("/v1/health")).json()
        version = (await client.get("/v1/version")).json()
        routes = (await client.get("/v1/inspect/routes")).json()["data"]
    assert health == {"status": "OK"}
    assert version == {"version": __version__}
    chat = next(r for r in routes if r["route"] == "/v1/chat/completions")
    assert chat["method"] == "POST" and chat["provider_types"] == ["inline::fake"]
    assert {"/v1/models", "/v1/health", "/v1/providers/{provider_id}"} <= {r["route"] for r in routes}


async def test_unknown_route_and_wrong_method_use_the_openai_envelope(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        unknown = await client.get("/v1/nothing-here")
        wrong = await client.put("/v1/chat/completions")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_url"
    assert wrong.status_code == 405 and "PUT" in wrong.json()["error"]["message"]


async def test_server_without_providers_starts_and_lists_no_models(serve, fake_inference):
    async with serve({}) as (client, _):
        assert (await client.get("/v1/models")).json() == {"object": "list", "data": []}


async def test_openapi_documents_request_and_response_bodies(serve, fake_inference):
    async with serve(fake_inference()) as (client, _):
        schema = (await client.get("/openapi.json")).json()
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletionRequest"
    )
    assert "ChatCompletion" in schema["components"]["schemas"]
    assert "messages" in schema["components"]["schemas"]["ChatCompletionRequest"]["properties"]


async def test_start_up_heap_is_frozen_while_serving_and_released_at_shutdown(serve, fake_inference):
    async with serve({}) as (client, _):
        assert (await client.get("/v1/health")).status_code == 200
        assert gc.get_freeze_count() > 10_000  # the start-up objects, out of full collections
    assert gc.get_freeze_count() == 0  # collectable again once the app is gone


async def test_the_collector_runs_less_until_ready_then_as_before(serve, fake_inference):
    before = gc.get_threshold()
    collect_less_until_ready()  # what `ogx run` does before importing the app
    try:
        assert gc.get_threshold()[0] >= STARTUP_YOUNG_THRESHOLD
        async with serve({}) as (client, _):
            assert (await client.get("/v1/health")).status_code == 200
            assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
