"""Fixtures of the ogx-bedrock tests: the local Bedrock stand-in (`bedrock_stub.py`, because AWS is
unreachable here) and providers pointed at it."""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import botocore.session
import pytest

# pytest runs with --import-mode=importlib: make the stub importable by the test modules.
sys.path.insert(0, str(Path(__file__).parent))

from bedrock_stub import ACCESS_KEY, REGION, SECRET_KEY, BedrockStub

from ogx_bedrock.adapter import BedrockInferenceAdapter, create_provider
from ogx_bedrock.config import BedrockConfig

ProviderFactory = Callable[..., AbstractAsyncContextManager[BedrockInferenceAdapter]]


@pytest.fixture(scope="session")
def bedrock_stub() -> Iterator[BedrockStub]:
    with BedrockStub() as stub:
        yield stub


@pytest.fixture
def stub(bedrock_stub: BedrockStub) -> Iterator[BedrockStub]:
    """The session's stub with a clean request log and default behaviour."""
    bedrock_stub.requests.clear()
    bedrock_stub.retry_after = None
    yield bedrock_stub
    bedrock_stub.release_gate()


def stub_config(stub: BedrockStub, **overrides: Any) -> BedrockConfig:
    """Config with explicit SigV4 keys pointed at the stub, no retries, short timeouts."""
    fields: dict[str, Any] = {
        "region": REGION,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "endpoint_url": stub.url,
        "control_plane_endpoint_url": stub.url,
        "max_attempts": 1,
        "connect_timeout": 2,
        "read_timeout": 10,
    }
    return BedrockConfig.model_validate(fields | overrides)


@pytest.fixture
def config_for(stub: BedrockStub) -> Callable[..., BedrockConfig]:
    """`config_for(**overrides)`: the stub's config (see `stub_config`) with some fields changed."""
    return functools.partial(stub_config, stub)


@pytest.fixture(scope="session")
def botocore_session() -> botocore.session.Session:
    """One botocore session for the providers built with explicit credentials: it caches the
    service models, so each provider starts in milliseconds. Tests of credential resolution
    (environment, profiles) build providers without it."""
    return botocore.session.Session()


@pytest.fixture
def bedrock(stub: BedrockStub, botocore_session: botocore.session.Session) -> ProviderFactory:
    """`async with bedrock(**config_overrides) as provider:` — a started provider on the stub."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[BedrockInferenceAdapter]:
        provider = create_provider(stub_config(stub, **overrides), {}, session=botocore_session)
        await provider.start()
        try:
            yield provider
        finally:
            await provider.close()

    return factory
