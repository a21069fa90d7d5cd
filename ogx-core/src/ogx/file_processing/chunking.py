"""Chunking by tokens, as OpenAI does: `auto` is 800-token chunks overlapping by 400; `static`
sets both (`max_chunk_size_tokens` 100 to 4096, overlap at most half of it).

Tokens are counted with OpenAI's own `cl100k_base` encoding, so a chunk size means here what it
means at OpenAI. `tiktoken` downloads its encoding files at run time, which cannot work offline,
so the file ships with this package (`data/cl100k_base.tiktoken.gz`, SHA-256 checked against the
published one) and `tiktoken` is given its ranks directly."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ogx.deferred import DeferredModel

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


class StaticChunking(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> StaticChunking:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError(
                f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must not exceed half of "
                f"max_chunk_size_tokens ({self.max_chunk_size_tokens})"
            )
        return self


class AutoChunkingStrategy(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["auto"]


class StaticChunkingStrategy(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["static"]
    static: StaticChunking


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")]


def resolved(strategy: AutoChunkingStrategy | StaticChunkingStrategy | None) -> dict[str, Any]:
    """The strategy as a file object reports it (`auto` becomes the static sizes it stands for)."""
    if isinstance(strategy, StaticChunkingStrategy):
        return {"type": "static", "static": strategy.static.model_dump()}
    static = {"max_chunk_size_tokens": AUTO_MAX_TOKENS, "chunk_overlap_tokens": AUTO_OVERLAP_TOKENS}
    return {"type": "static", "static": static}


@dataclass(frozen=True)
class TextChunk:
    index: int
    text: str
    tokens: int
    start_token: int


def chunk_text(text: str, max_tokens: int, overlap: int) -> list[TextChunk]:
    """Windows of `max_tokens` tokens, each starting `max_tokens - overlap` after the previous;
    the last one ends at the text's end."""
    if not 0 <= overlap < max_tokens:
        raise ValueError("overlap must be at least 0 and below max_tokens")
    encoding = tokenizer()
    tokens = encoding.encode_ordinary(text)
    stride = max_tokens - overlap
    chunks: list[TextChunk] = []
    start = 0
    while start < len(tokens):
        window = tokens[start : start + max_tokens]
        # A window may cut a multi-byte character; its partial bytes are dropped, not garbled.
        piece = encoding.decode_bytes(window).decode("utf-8", errors="ignore")
        if piece.strip():
            chunks.append(TextChunk(index=len(chunks), text=piece, tokens=len(window), start_token=start))
        if start + max_tokens >= len(tokens):
            break
        start += stride
    return chunks


def count_tokens(text: str) -> int:
    return len(tokenizer().encode_ordinary(text))


@functools.cache
def tokenizer() -> Any:
    """OpenAI's `cl100k_base`, from the packaged file (loaded once per process, ~0.3 s)."""
    import tiktoken

    raw = gzip.decompress(resources.files(__package__).joinpath("data/cl100k_base.tiktoken.gz").read_bytes())
    if hashlib.sha256(raw).hexdigest() != _CL100K_SHA256:
        raise RuntimeError("the packaged cl100k_base.tiktoken file is corrupt (SHA-256 mismatch)")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in raw.splitlines() if line)
    }
    return tiktoken.Encoding("cl100k_base", pat_str=_CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={})
