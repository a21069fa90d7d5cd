"""Token estimates for `/v1/messages/count_tokens` when the model's provider cannot count.

No tokenizer of an arbitrary backend model is available offline, so this is a heuristic: about
four characters a token for text, tool definitions and tool calls (the rule of thumb for English
with BPE tokenizers), a few tokens of chat-template framing per message, and Anthropic's
published image cost, width * height / 750 capped near 1,600 tokens (the size images are scaled
to), read from the image header when it is a PNG, GIF or JPEG and taken as the cap otherwise.
Responses carry `"estimated": true`."""

from __future__ import annotations

import base64
import binascii
import math
import struct

import orjson

from ogx_api.inference import ChatCompletionRequest

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4  # role markers and separators of a typical chat template
PER_REQUEST = 3  # the assistant turn's opening
IMAGE_MAX = 1600
_HEADER_BYTES = 65536  # a JPEG's size marker may sit after its EXIF data


def estimate(request: ChatCompletionRequest) -> int:
    characters = 0
    images = 0
    for message in request.messages:
        content = getattr(message, "content", None)
        if isinstance(content, str):
            characters += len(content)
        elif content:
            for part in content:
                text = getattr(part, "text", None)
                if text is not None:
                    characters += len(text)
                elif getattr(part, "type", None) == "image_url":
                    images += image_tokens(part.image_url.url)  # type: ignore[union-attr]
        for call in getattr(message, "tool_calls", None) or ():
            characters += len(call.function.name) + len(call.function.arguments)
    for tool in request.tools or ():
        characters += len(orjson.dumps(tool.model_dump(mode="json", exclude_none=True)))
    tokens = math.ceil(characters / CHARS_PER_TOKEN) + images
    return tokens + PER_MESSAGE * len(request.messages) + PER_REQUEST


def image_tokens(url: str) -> int:
    if not url.startswith("data:"):
        return IMAGE_MAX  # not fetched just to count
    _, _, data = url.partition(",")
    try:
        head = base64.b64decode(data[: _HEADER_BYTES // 3 * 4])
    except (binascii.Error, ValueError):
        return IMAGE_MAX
    size = _dimensions(head)
    if size is None:
        return IMAGE_MAX
    width, height = size
    return max(1, min(IMAGE_MAX, math.ceil(width * height / 750)))


def _dimensions(head: bytes) -> tuple[int, int] | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return width, height
    if head.startswith(b"\xff\xd8"):
        return _jpeg_dimensions(head)
    return None


def _jpeg_dimensions(head: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(head):
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        length = struct.unpack(">H", head[position + 2 : position + 4])[0]
        # Start-of-frame markers (baseline, progressive, …) carry the size; 0xC4, 0xC8 and
        # 0xCC share the range but are tables.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None
