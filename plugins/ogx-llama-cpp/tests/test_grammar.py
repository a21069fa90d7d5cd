"""Sampling among the tokens a grammar allows picks what llama.cpp's chain would (offline)."""

from __future__ import annotations

import numpy as np
import pytest

from ogx_llama_cpp.grammar import choose

NEG = -np.inf


def test_greedy_takes_the_likeliest_allowed_token() -> None:
    logits = np.array([5.0, NEG, 3.0, 4.0], dtype=np.float32)
    assert choose(logits, {"temp": 0.0}, np.random.default_rng(0)) == 0
    logits[0] = NEG
    assert choose(logits, {"temp": 0.0}, np.random.default_rng(0)) == 3


def test_sampling_stays_within_top_k_and_min_p() -> None:
    logits = np.array([10.0, 9.9, 9.8, 0.0, NEG], dtype=np.float32)
    rng = np.random.default_rng(1)
    picks = {choose(logits, {"temp": 1.0, "top_k": 2}, rng) for _ in range(200)}
    assert picks == {0, 1}
    picks = {choose(logits, {"temp": 1.0, "top_k": 0, "min_p": 0.5}, rng) for _ in range(200)}
    assert picks == {0, 1, 2}


def test_top_p_keeps_the_smallest_nucleus() -> None:
    logits = np.log(np.array([0.6, 0.3, 0.1], dtype=np.float64)).astype(np.float32)
    rng = np.random.default_rng(2)
    picks = {choose(logits, {"temp": 1.0, "top_k": 0, "top_p": 0.8, "min_p": 0.0}, rng) for _ in range(300)}
    assert picks == {0, 1}


def test_no_allowed_token_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="allows no token"):
        choose(np.full(3, NEG, dtype=np.float32), {"temp": 0.0}, np.random.default_rng(0))
