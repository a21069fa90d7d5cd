"""`metadata`: the key-value pairs OpenAI objects carry (chat completions, responses,
conversations, vector stores, files' attributes…), with OpenAI's limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

MAX_PAIRS = 16
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 512


def _check(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_PAIRS:
        raise ValueError(f"at most {MAX_PAIRS} key-value pairs, got {len(value)}")
    for key, item in value.items():
        if len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"keys are at most {MAX_KEY_LENGTH} characters")
        if len(item) > MAX_VALUE_LENGTH:
            raise ValueError(f"values are at most {MAX_VALUE_LENGTH} characters (key {key!r})")
        if "\x00" in key or "\x00" in item:
            raise ValueError("keys and values cannot contain NUL characters")
    return value


Metadata = Annotated[dict[str, str], AfterValidator(_check)]
