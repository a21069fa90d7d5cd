"""The token estimate used by `/v1/messages/count_tokens` when a provider cannot count."""

from __future__ import annotations

import base64
import struct

from ogx.anthropic.models import CountTokensRequest
from ogx.anthropic.tokens import IMAGE_MAX, estimate, image_tokens
from ogx.anthropic.translate import to_chat_request


def data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode()}"


def png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">II", width, height)
        + b"\x08\x02\x00\x00\x00"
    )


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\x00" * 10
    return b"\xff\xd8" + app0 + sof0


def test_image_cost_follows_its_size_up_to_the_cap():
    assert image_tokens(data_url("image/png", png(200, 150))) == 40  # 200*150/750
    assert image_tokens(data_url("image/jpeg", jpeg(300, 250))) == 100
    assert image_tokens(data_url("image/gif", b"GIF89a" + struct.pack("<HH", 75, 10))) == 1
    assert image_tokens(data_url("image/png", png(4000, 3000))) == IMAGE_MAX
    assert image_tokens("https://example.com/cat.png") == IMAGE_MAX
    assert image_tokens(data_url("image/webp", b"RIFF....WEBP")) == IMAGE_MAX


def count(**body):
    return estimate(to_chat_request(CountTokensRequest.model_validate({"model": "m", **body})))


def test_estimate_grows_with_text_tools_and_images():
    base = count(messages=[{"role": "user", "content": "hi"}])
    assert base == 1 + 4 + 3  # ceil(2/4) + one message's framing + the reply's opening
    longer = count(messages=[{"role": "user", "content": "x" * 400}])
    assert longer == base + 99
    tool = {"name": "f", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    assert count(messages=[{"role": "user", "content": "hi"}], tools=[tool]) > base
    image = {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(png(750, 100)).decode(),
        },
    }
    assert count(messages=[{"role": "user", "content": [image]}]) == 100 + 4 + 3
