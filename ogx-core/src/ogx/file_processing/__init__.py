"""Files into chunks: text extraction (`extract`) and token chunking (`chunking`), shared by
vector-store ingestion and `POST /v1alpha/file-processors/process`."""

from __future__ import annotations

from ogx.file_processing.chunking import (
    AUTO_MAX_TOKENS,
    AUTO_OVERLAP_TOKENS,
    AutoChunkingStrategy,
    ChunkingStrategy,
    StaticChunkingStrategy,
    TextChunk,
    chunk_text,
    count_tokens,
    resolved,
)
from ogx.file_processing.extract import (
    SUPPORTED_EXTENSIONS,
    InvalidFile,
    UnsupportedFile,
    extract_text,
    file_kind,
)

__all__ = [
    "AUTO_MAX_TOKENS",
    "AUTO_OVERLAP_TOKENS",
    "SUPPORTED_EXTENSIONS",
    "AutoChunkingStrategy",
    "ChunkingStrategy",
    "InvalidFile",
    "StaticChunkingStrategy",
    "TextChunk",
    "UnsupportedFile",
    "chunk_text",
    "count_tokens",
    "extract_text",
    "file_kind",
    "process",
    "resolved",
]


def process(
    data: bytes,
    filename: str,
    content_type: str | None,
    strategy: AutoChunkingStrategy | StaticChunkingStrategy | None,
) -> list[TextChunk]:
    """Extract the text and chunk it by `strategy` (`auto` when None)."""
    text = extract_text(data, filename, content_type)
    static = resolved(strategy)["static"]
    return chunk_text(text, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"])
