"""The in-memory BM25 index of `inline::faiss`: Okapi BM25 scores, stemming shared by chunks and
queries, removals, and filters that still yield `k` hits."""

from __future__ import annotations

import math

import pytest

from ogx_api.vector_io import BM25_B as B
from ogx_api.vector_io import BM25_K1 as K1
from ogx_api.vector_io import stem
from ogx_faiss.keywords import KeywordIndex

DOCS = {
    1: "the cat sat on the mat",
    2: "dogs chase cats",
    3: "a dog barked at the mailman and the dog ran",
    4: "nothing to see here",
}


@pytest.fixture
def index() -> KeywordIndex:
    index = KeywordIndex()
    index.add_many(DOCS.items())
    return index


def bm25(term: str, label: int) -> float:
    """Okapi BM25 of one stemmed term, from first principles, over DOCS."""
    docs = {label: [stem(w) for w in text.split()] for label, text in DOCS.items()}
    average = sum(len(words) for words in docs.values()) / len(docs)
    df = sum(term in words for words in docs.values())
    idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
    tf = docs[label].count(term)
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(docs[label]) / average))


def test_stemming_joins_plurals_and_inflections() -> None:
    assert stem("dogs") == stem("dog") == "dog"
    assert stem("barked") == stem("barking") == "bark"
    assert stem("classes") == "class" and stem("ponies") == "poni"
    assert stem("is") == "is" and stem("a1s") == "a1s"


def test_scores_are_okapi_bm25(index: KeywordIndex) -> None:
    hits = index.search("Dog!", 10, None)
    assert [label for label, _ in hits] == [2, 3]  # the short chunk wins despite one occurrence
    for label, score in hits:
        assert score == pytest.approx(bm25("dog", label), rel=1e-5)
    both = dict(index.search("cats dogs", 10, None))
    assert both[2] == pytest.approx(bm25("cat", 2) + bm25("dog", 2), rel=1e-5)


def test_removed_chunks_are_gone_and_statistics_follow(index: KeywordIndex) -> None:
    index.remove([3])
    assert index.search("dog", 10, None)[0][0] == 2
    index.remove([2, 2, 99])
    assert index.search("dog", 10, None) == []
    assert index.search("cat", 10, None)[0][0] == 1


def test_a_filter_still_yields_k_hits(index: KeywordIndex) -> None:
    hits = index.search("the dog cat", 2, lambda label: label != 3)
    assert [label for label, _ in hits] == [2, 1]
    assert index.search("", 5, None) == [] and index.search("zebra", 5, None) == []
