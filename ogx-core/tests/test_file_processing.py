"""Extraction and chunking: OpenAI's tokenizer offline, windows that overlap as asked, and the
strategy limits OpenAI documents."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from ogx.file_processing import ChunkingStrategy, UnsupportedFile, chunk_text, extract_text, process
from ogx.file_processing.chunking import tokenizer


def test_tokens_are_openais_cl100k_base() -> None:
    # The ids tiktoken's cl100k_base gives (GPT-4's tokenizer), from the packaged file, offline.
    assert tokenizer().encode_ordinary("hello world, this is a test") == [
        15339,
        1917,
        11,
        420,
        374,
        264,
        1296,
    ]


def test_windows_overlap_by_the_requested_number_of_tokens() -> None:
    text = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_text(text, 100, 30)
    encoding = tokenizer()
    assert all(c.tokens <= 100 for c in chunks)
    assert [c.start_token for c in chunks[:3]] == [0, 70, 140]
    first, second = (encoding.encode_ordinary(c.text) for c in chunks[:2])
    assert first[70:] == second[:30]
    assert chunks[-1].start_token + chunks[-1].tokens == len(encoding.encode_ordinary(text))


def test_strategy_limits() -> None:
    adapter = TypeAdapter(ChunkingStrategy)
    adapter.validate_python(
        {"type": "static", "static": {"max_chunk_size_tokens": 4096, "chunk_overlap_tokens": 2048}}
    )
    for static in (
        {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0},
        {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0},
        {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101},
    ):
        with pytest.raises(ValidationError):
            adapter.validate_python({"type": "static", "static": static})
    assert [c.tokens for c in process(b"short text", "a.txt", None, None)] == [2]


def test_type_comes_from_the_extension_then_the_content_type() -> None:
    assert extract_text(b"<p>hi</p>", "page", "text/html") == "hi"
    assert extract_text(b"plain", "notes.md", "application/octet-stream") == "plain"
    with pytest.raises(UnsupportedFile, match=r"\.pdf"):
        extract_text(b"\x00", "image.png", "image/png")
