"""InvokeModel bodies of Bedrock's embedding models (Amazon Titan, Cohere Embed), as pure
functions: which family a model id belongs to, the request body for some texts, and the vectors
and token count in the answer."""

from __future__ import annotations

import base64
import struct
from enum import StrEnum
from typing import Any, cast

from ogx_api import InvalidRequest, ProviderError

COHERE_MAX_TEXTS = 96
"""Cohere Embed on Bedrock takes at most 96 texts per call; longer inputs are sent in batches."""

COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")

# Default output dimension of the embedding models Bedrock serves, by base model id.
EMBEDDING_DIMENSIONS: dict[str, int] = {
    "amazon.titan-embed-text-v1": 1536,
    "amazon.titan-embed-g1-text-02": 1536,
    "amazon.titan-embed-text-v2:0": 1024,
    "amazon.titan-embed-image-v1": 1024,
    "cohere.embed-english-v3": 1024,
    "cohere.embed-multilingual-v3": 1024,
    "cohere.embed-v4:0": 1536,
}


class Family(StrEnum):
    titan_v1 = "titan-v1"  # one text per call, fixed dimension
    titan_v2 = "titan-v2"  # one text per call, `dimensions` 256/512/1024
    titan_multimodal = "titan-multimodal"  # one text per call, `embeddingConfig.outputEmbeddingLength`
    cohere_v3 = "cohere-v3"  # up to 96 texts per call, fixed dimension
    cohere_v4 = "cohere-v4"  # up to 96 texts per call, `output_dimension`


def base_model_id(model_id: str) -> str:
    """`amazon.titan-embed-text-v2:0` for that id, a cross-region profile id such as
    `us.cohere.embed-v4:0` or a foundation-model ARN."""
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    vendor, _, rest = model_id.partition(".")
    # Cross-region inference profiles prefix the model id with a geography: us., eu., apac., global.
    if rest and "." in rest and vendor in ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"):
        return rest
    return model_id


def family(model_id: str) -> Family:
    base = base_model_id(model_id)
    if base.startswith("amazon.titan-embed-text-v2"):
        return Family.titan_v2
    if base.startswith("amazon.titan-embed-image"):
        return Family.titan_multimodal
    if base.startswith("amazon.titan-embed"):
        return Family.titan_v1
    if base.startswith("cohere.embed-v4"):
        return Family.cohere_v4
    if base.startswith("cohere.embed"):
        return Family.cohere_v3
    raise InvalidRequest(
        f"{model_id!r} is not an embedding model this provider knows: Bedrock embeddings are served "
        "for Amazon Titan (amazon.titan-embed-*) and Cohere Embed (cohere.embed-*) models",
        param="model",
    )


def is_batched(model_family: Family) -> bool:
    return model_family in (Family.cohere_v3, Family.cohere_v4)


def request_body(
    model_family: Family, texts: list[str], *, dimensions: int | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """The InvokeModel JSON body embedding `texts` (exactly one for Titan). `extra` holds the
    request's unknown fields, passed on as model parameters (e.g. Cohere's `input_type`,
    `truncate`; Titan's `normalize`)."""
    if model_family in (Family.cohere_v3, Family.cohere_v4):
        body: dict[str, Any] = {
            "input_type": "search_document",
            **extra,
            "texts": texts,
            "embedding_types": ["float"],
        }
        if dimensions is not None:
            _require(model_family is Family.cohere_v4, "dimensions")
            body["output_dimension"] = dimensions
        return body
    (text,) = texts
    body = {**extra, "inputText": text}
    if dimensions is not None:
        if model_family is Family.titan_v2:
            body["dimensions"] = dimensions
        else:
            _require(model_family is Family.titan_multimodal, "dimensions")
            body["embeddingConfig"] = {"outputEmbeddingLength": dimensions}
    return body


def _require(supported: bool, param: str) -> None:
    if not supported:
        raise InvalidRequest(f"this embedding model does not support `{param}`", param=param)


def parse_response(model_family: Family, body: Any, expected: int) -> tuple[list[list[float]], int | None]:
    """The vectors (one per text sent) and the input token count, when the body reports it."""
    if not isinstance(body, dict):
        raise ProviderError("Amazon Bedrock answered InvokeModel with JSON that is not an object")
    if model_family in (Family.cohere_v3, Family.cohere_v4):
        embeddings = body.get("embeddings")
        # `embedding_types` asked for gives {"float": [...]}; without it, a plain list.
        vectors = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
        tokens = None
    else:
        by_type = body.get("embeddingsByType")
        vector = (
            by_type.get("float")
            if isinstance(by_type, dict) and by_type.get("float")
            else body.get("embedding")
        )
        vectors = [vector]
        tokens = body.get("inputTextTokenCount")
    if (
        not isinstance(vectors, list)
        or len(vectors) != expected
        or not all(isinstance(vector, list) and vector for vector in vectors)
    ):
        raise ProviderError(f"Amazon Bedrock's embedding answer does not hold {expected} vector(s)")
    return cast(list[list[float]], vectors), tokens if isinstance(tokens, int) else None


def encode_base64(vector: list[float]) -> str:
    """OpenAI's `encoding_format: base64`: little-endian float32, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
