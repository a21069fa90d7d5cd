"""Embedding texts through the inference router, in batches, and packing vectors for storage."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ogx.routing.inference import InferenceRouter
from ogx_api.inference import EmbeddingsRequest

BATCH_SIZE = 64


async def embed(inference: InferenceRouter, model: str, texts: Sequence[str]) -> list[list[float]]:
    """One vector per text, in order, `BATCH_SIZE` texts per request."""
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH_SIZE):
        batch = list(texts[start : start + BATCH_SIZE])
        result = await inference.embeddings(EmbeddingsRequest(model=model, input=batch))
        ordered = sorted(result["data"], key=lambda item: item["index"])
        vectors.extend(list(item["embedding"]) for item in ordered)  # type: ignore[arg-type]
    return vectors


def pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(data: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(data) // 4}f", data))
