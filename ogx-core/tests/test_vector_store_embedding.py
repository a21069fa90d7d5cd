"""Long chunks are embedded window by window (the model would truncate them otherwise)."""

from __future__ import annotations

import math
from typing import Any

from ogx.file_processing import count_tokens
from ogx.routing.models import ModelEntry
from ogx.vector_stores.embedding import embed
from ogx_api.inference import ModelType


class Router:
    """The two things `embed` uses of the inference router, recording what it was asked."""

    def __init__(self, context_length: int | None) -> None:
        metadata = {"context_length": context_length} if context_length else {}
        self.entry = ModelEntry("m", "p", "m", ModelType.embedding, metadata)
        self.inputs: list[list[str]] = []
        self.registry = self

    def resolve(self, model: str, model_type: Any = None) -> ModelEntry:
        return self.entry

    async def embeddings(self, request: Any) -> dict[str, Any]:
        self.inputs.append(list(request.input))
        # Window i of a text points along axis i: the mean shows which windows were seen.
        data = [
            {"index": i, "embedding": [1.0 if "second" in t else 0.0, 1.0 if "first" in t else 0.0]}
            for i, t in enumerate(request.input)
        ]
        return {"data": data}


async def test_a_chunk_longer_than_the_context_is_the_mean_of_its_windows() -> None:
    text = "first " * 150 + "second " * 150
    router = Router(context_length=256)  # windows of 179 cl100k tokens
    [vector] = await embed(router, "m", [text])  # type: ignore[arg-type]
    windows = router.inputs[0]
    assert len(windows) == math.ceil(count_tokens(text) / 179) == 2
    assert vector[0] > 0.3 and vector[1] > 0.3, "both halves of the chunk count"
    assert math.isclose(math.hypot(*vector), 1.0)


async def test_short_texts_and_models_without_a_known_context_are_embedded_whole() -> None:
    text = "first " * 300
    for router, expected in ((Router(context_length=None), [text]), (Router(context_length=4096), [text])):
        await embed(router, "m", [text])  # type: ignore[arg-type]
        assert router.inputs == [expected]
