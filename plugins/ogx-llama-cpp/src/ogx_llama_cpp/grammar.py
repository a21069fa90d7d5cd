"""Grammar-constrained sampling that costs little when the model already complies.

llama-cpp-python puts a grammar in its sampler chain, which checks the grammar against every
token of the vocabulary at every step: with Gemma's 262,144 tokens that is 0.3 to 0.9 s per token,
so a 30-token tool call took half a minute. llama.cpp's own server samples first without the
grammar, keeps the token when the grammar accepts it (one cheap check), and only otherwise
filters the whole vocabulary and samples again. `GrammarGuide` does the same.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any, cast

import numpy as np
from llama_cpp import llama_cpp

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
# Tokens checked against the grammar before the whole vocabulary is.
_FIRST_CANDIDATES = 1024


class GrammarGuide:
    """One generation's grammar state. `constrain()` takes the token sampled without the
    grammar and returns the token to use; the grammar advances past it."""

    def __init__(self, vocab: Any, n_vocab: int, grammar: str, *, seed: int | None) -> None:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        if not sampler:
            raise ValueError("llama.cpp could not parse the grammar")
        self._sampler: Any = sampler
        self._n_vocab = n_vocab
        self._one = (llama_cpp.llama_token_data * 1)()
        self._table: ctypes.Array[llama_cpp.llama_token_data] | None = None
        self._rng = np.random.default_rng(seed)

    def constrain(self, token: int, logits: Any, options: dict[str, Any], input_ids: Any) -> int:
        if not self._rejects(token):
            llama_cpp.llama_sampler_accept(self._sampler, token)
            return token
        token = self._resample(logits, options, input_ids)
        llama_cpp.llama_sampler_accept(self._sampler, token)
        return token

    def close(self) -> None:
        if self._sampler:
            llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None

    def _rejects(self, token: int) -> bool:
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 0.0, 0.0
        candidates = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self._sampler, cast(Any, ctypes.byref(candidates)))
        return math.isinf(self._one[0].logit)

    def _resample(self, logits_pointer: Any, options: dict[str, Any], input_ids: Any) -> int:
        """Sample among the tokens the grammar allows, as llama-cpp-python's chain would
        (logits processors, grammar, then top-k, top-p, min-p, temperature).

        The grammar is first checked on the likeliest tokens only: when enough of them are
        allowed (one at temperature 0, `top_k` otherwise) no other token could be chosen."""
        logits = np.ctypeslib.as_array(logits_pointer, shape=(self._n_vocab,)).copy()
        for processor in options.get("logits_processor") or ():
            logits = processor(input_ids, logits)
        greedy = float(options.get("temp", 0.8)) <= 0
        top_k = int(options.get("top_k", 40))
        if self._n_vocab > _FIRST_CANDIDATES and (greedy or 0 < top_k <= _FIRST_CANDIDATES):
            likeliest = np.argpartition(-logits, _FIRST_CANDIDATES)[:_FIRST_CANDIDATES]
            allowed = self._allowed(likeliest, logits)
            if allowed.size >= (1 if greedy else top_k):
                return choose(self._masked(allowed, logits), options, self._rng)
        everything = np.arange(self._n_vocab, dtype=np.int32)
        return choose(self._masked(self._allowed(everything, logits), logits), options, self._rng)

    def _allowed(self, ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """The tokens among `ids` the grammar allows next."""
        if self._table is None:
            self._table = (llama_cpp.llama_token_data * self._n_vocab)()
        table = np.frombuffer(cast(Any, self._table), dtype=_TOKEN_DATA, count=ids.size)
        table["id"] = ids
        table["logit"] = 0.0
        table["p"] = 0.0
        candidates = llama_cpp.llama_token_data_array(
            data=self._table, size=ids.size, selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(self._sampler, cast(Any, ctypes.byref(candidates)))
        return ids[np.isfinite(table["logit"])]

    def _masked(self, allowed: np.ndarray, logits: np.ndarray) -> np.ndarray:
        masked = np.full(self._n_vocab, -np.inf, dtype=np.float32)
        masked[allowed] = logits[allowed]
        return masked


def choose(logits: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> int:
    """A token among those with a finite logit: greedy at temperature 0, else sampled after
    top-k, top-p and min-p (the order of llama.cpp's chain)."""
    allowed = np.flatnonzero(np.isfinite(logits))
    if allowed.size == 0:
        raise RuntimeError("the grammar allows no token here")
    temperature = float(options.get("temp", 0.8))
    if temperature <= 0:
        return int(allowed[np.argmax(logits[allowed])])
    order = allowed[np.argsort(-logits[allowed], kind="stable")]
    top_k = int(options.get("top_k", 40))
    if top_k > 0:
        order = order[:top_k]
    values = logits[order].astype(np.float64)
    probs = np.exp(values - values[0])
    probs /= probs.sum()
    top_p = float(options.get("top_p", 1.0))
    if top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(probs), top_p) + 1)
        order, values, probs = order[:keep], values[:keep], probs[:keep]
    min_p = float(options.get("min_p", 0.0))
    if min_p > 0:
        keep_mask = probs >= min_p * probs[0]
        order, values = order[keep_mask], values[keep_mask]
    scaled = np.exp((values - values[0]) / temperature)
    return int(rng.choice(order, p=scaled / scaled.sum()))
