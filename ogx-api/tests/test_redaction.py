"""`ogx_api.redaction`: URLs without their credentials, in values and in log records."""

from __future__ import annotations

import logging

import pytest

from ogx_api.redaction import (
    REDACTED,
    RedactUrls,
    names_a_credential,
    redact_logged_urls,
    redact_url,
    redact_urls_in,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://mcp.example.com/v1/mcp", "https://mcp.example.com/v1/mcp"),
        ("http://127.0.0.1:8000/mcp?region=eu&debug", "http://127.0.0.1:8000/mcp?region=eu&debug"),
        ("https://user:pw@mcp.example.com/mcp", "https://********@mcp.example.com/mcp"),
        ("https://ghp_token123@github.example/mcp", "https://********@github.example/mcp"),
        (
            "https://mcp.example.com/mcp?api_key=k1&region=eu&TOKEN=t2&sig=s3#access_token=t4",
            "https://mcp.example.com/mcp?api_key=********&region=eu&TOKEN=********&sig=********",
        ),
        (
            "https://b.s3.example/o?X-Amz-Credential=c&X-Amz-Signature=s&X-Amz-Date=20260101",
            "https://b.s3.example/o?X-Amz-Credential=********&X-Amz-Signature=********&X-Amz-Date=20260101",
        ),
        (
            "http://h/p?clientSecret=a&api%5Fkey=b&apiKey=c",
            "http://h/p?clientSecret=********&api%5Fkey=********&apiKey=********",
        ),
        ("http://[::1]:9/p?code=x&key=", "http://[::1]:9/p?code=********&key="),
        ("no scheme at all", "<unparseable URL>"),
        ("http://[::1/p", "<unparseable URL>"),
    ],
)
def test_redact_url_keeps_the_server_readable_and_hides_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("api_key", True),
        ("apikey", True),
        ("X-Api-Key", True),
        ("access_token", True),
        ("refresh-token", True),
        ("Password", True),
        ("auth", True),
        ("signature", True),
        ("code", True),
        ("keyword", False),
        ("monkey", False),
        ("author", False),
        ("region", False),
        ("design", False),
    ],
)
def test_credential_names_are_whole_words(name: str, credential: bool) -> None:
    assert names_a_credential(name) is credential


def test_every_url_in_a_text_is_redacted() -> None:
    text = 'POST http://h/mcp?token=t1 "HTTP/1.1 200 OK" then https://u:p@x/y.'
    assert (
        redact_urls_in(text)
        == f'POST http://h/mcp?token={REDACTED} "HTTP/1.1 200 OK" then https://{REDACTED}@x/y.'
    )
    assert redact_urls_in("no URL here") == "no URL here"


def test_a_logger_given_the_filter_logs_urls_redacted(caplog: pytest.LogCaptureFixture) -> None:
    name = "ogx_api.tests.redaction"
    redact_logged_urls(name)
    redact_logged_urls(name)  # once is enough: not added twice
    logger = logging.getLogger(name)
    assert sum(isinstance(f, RedactUrls) for f in logger.filters) == 1
    caplog.set_level(logging.DEBUG, logger=name)
    logger.info("HTTP Request: %s %s", "POST", "http://h/mcp?api_key=s3cret&region=eu")
    try:
        raise ValueError("for url 'http://h/mcp?api_key=s3cret'")
    except ValueError:
        logger.exception("the call failed")
    logging.getLogger(f"{name}.child").info("http://h/?token=child")  # a child's records: not filtered
    assert caplog.records[0].getMessage() == f"HTTP Request: POST http://h/mcp?api_key={REDACTED}&region=eu"
    assert "s3cret" not in caplog.text and f"api_key={REDACTED}" in caplog.records[1].exc_text
    assert "token=child" in caplog.text
