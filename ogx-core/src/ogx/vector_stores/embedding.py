"""Embedding texts through the inference router, in batches, and packing vectors for storage.

A chunk longer than the embedding model's context (`context_length` in its metadata) would be
truncated by the model, and whatever follows the cut would never be found by vector search: with
`auto` chunking (800 tokens) and all-MiniLM-L6-v2 (256 word pieces) that is most of each chunk.
So such a chunk is embedded window by window and its vector is the normalised mean of theirs."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from ogx.file_processing.chunking import tokenizer
from ogx.routing.inference import InferenceRouter
from ogx_api.inference import EmbeddingsRequest, ModelType

BATCH_SIZE = 64
# Model tokens per cl100k token, with a margin: BERT word pieces run ~1.3 per cl100k token on
# English prose.
WINDOW_SHARE = 0.7


async def embed(inference: InferenceRouter, model: str, texts: Sequence[str]) -> list[list[float]]:
    """One vector per text, in order, `BATCH_SIZE` texts per request; long texts by windows."""
    windows_per_text = [windows(text, _window_tokens(inference, model)) for text in texts]
    flat = [window for pieces in windows_per_text for window in pieces]
    vectors: list[list[float]] = []
    for start in range(0, len(flat), BATCH_SIZE):
        batch = flat[start : start + BATCH_SIZE]
        result = await inference.embeddings(EmbeddingsRequest(model=model, input=batch))
        ordered = sorted(result["data"], key=lambda item: item["index"])
        vectors.extend(list(item["embedding"]) for item in ordered)  # type: ignore[arg-type]
    out: list[list[float]] = []
    position = 0
    for pieces in windows_per_text:
        parts = vectors[position : position + len(pieces)]
        position += len(pieces)
        out.append(parts[0] if len(parts) == 1 else _normalised_mean(parts))
    return out


def _window_tokens(inference: InferenceRouter, model: str) -> int | None:
    entry = inference.registry.resolve(model, ModelType.embedding)
    context = entry.metadata.get("context_length")
    return max(16, int(int(context) * WINDOW_SHARE)) if context else None


def windows(text: str, size: int | None) -> list[str]:
    if size is None:
        return [text]
    encoding = tokenizer()
    tokens = encoding.encode_ordinary(text)
    if len(tokens) <= size:
        return [text]
    pieces = (
        encoding.decode_bytes(tokens[i : i + size]).decode("utf-8", errors="ignore")
        for i in range(0, len(tokens), size)
    )
    return [piece for piece in pieces if piece.strip()] or [text]


def _normalised_mean(vectors: Sequence[Sequence[float]]) -> list[float]:
    mean = [sum(values) / len(vectors) for values in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in mean)) or 1.0
    return [x / norm for x in mean]


def pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(data: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(data) // 4}f", data))
