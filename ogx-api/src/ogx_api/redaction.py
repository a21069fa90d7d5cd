"""Credentials out of what the server shows: URLs in responses, error messages and log lines.

A URL a client or an operator gives may carry credentials: as userinfo
(`https://user:pass@host/`) or as query parameters (`?api_key=…`, `?sig=…`). `redact_url`
keeps what says which server is meant (scheme, host, port, path, the other query parameters)
and replaces the rest with `REDACTED`::

    redact_url("https://bot:pw@mcp.example.com/v1?region=eu&api_key=k1")
    # 'https://********@mcp.example.com/v1?region=eu&api_key=********'

A credential inside the path (`/s/<token>/mcp`) cannot be told from a path segment and stays.

Libraries log the URLs they call (httpx at INFO, the `mcp` SDK at DEBUG), whole;
`redact_logged_urls("httpx2", …)` gives those loggers a filter that rewrites every URL in a
record, message and traceback, before any handler sees it. It costs nothing for records below
the logger's level, which are never made.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = "********"
"""What stands in place of a secret value (a header's, a query parameter's, a config field's)."""

CREDENTIAL_WORDS = frozenset(
    {
        "access_token",
        "accesstoken",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "code",
        "cookie",
        "credential",
        "credentials",
        "jwt",
        "key",
        "pass",
        "passwd",
        "password",
        "pwd",
        "secret",
        "session",
        "sessionid",
        "sig",
        "signature",
        "token",
    }
)
"""A query parameter holds a credential when its name, or one of the words in it (split at
`_`, `-`, `.` and camelCase: `X-Amz-Signature`, `clientSecret`), is one of these (any case)."""

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")


def names_a_credential(name: str) -> bool:
    """Whether a query parameter called `name` holds a credential (see `CREDENTIAL_WORDS`)."""
    lowered = name.lower()
    if lowered in CREDENTIAL_WORDS or re.sub(r"[^a-z0-9]", "", lowered) in CREDENTIAL_WORDS:
        return True
    return any(word.lower() in CREDENTIAL_WORDS for word in _WORDS.findall(name))


def redact_url(url: str) -> str:
    """`url` with its userinfo and the values of credential-named query parameters replaced by
    `REDACTED`, without its fragment: safe to return, log or put in an error message. A URL
    without credentials comes back as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme:
        return "<unparseable URL>"
    _userinfo, at, host = parts.netloc.rpartition("@")
    netloc = f"{REDACTED}@{host}" if at else host
    query = "&".join(_redact_parameter(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_parameter(parameter: str) -> str:
    name, equals, value = parameter.partition("=")
    if equals and value and names_a_credential(unquote_plus(name)):
        return f"{name}={REDACTED}"
    return parameter


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it through `redact_url`."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


class RedactUrls(logging.Filter):
    """Rewrites a record's message (and traceback) with every URL in it redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls_in(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_urls_in(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactUrls()


def redact_logged_urls(*logger_names: str) -> None:
    """Give each named logger the URL-redacting filter (once). A logger's filter sees only the
    records made by that logger, not by its children: name each one that logs URLs."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
