"""The base of request models off the hot paths: built on first use, not at import."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

_DEFERRED = ConfigDict(defer_build=True)


class DeferredModel(BaseModel):
    """A model whose validator and serializer pydantic builds when it is first used
    (`defer_build`) instead of when its class is defined.

    For the request bodies of the APIs off the hot paths (Responses, Conversations, vector
    stores, Google Interactions, tools): building them at import was most of the server's
    start-up time, and a server that never serves one of those APIs need not build it at all.
    The first request of such an API builds its body's model (bench/README.md measures what that
    costs). The hot paths' bodies (chat completions, embeddings, Anthropic Messages) stay plain
    `BaseModel`s, built at import, so their first request is as fast as the next."""

    model_config = _DEFERRED


def deferred_adapter(shape: Any) -> TypeAdapter[Any]:
    """A `TypeAdapter` for a module-level union or alias off the hot paths: built on first use,
    as `DeferredModel` is."""
    return TypeAdapter(shape, config=_DEFERRED)
