"""Secrets at rest: credentials the server stores are encrypted before they reach the database,
so a dump, a backup or a replica of it reveals none.

`SecretBox` seals a JSON-ready value with AES-256-GCM into text of the form
`ogxenc1:<key id>:<base64url(nonce | ciphertext | tag)>`. The prefix marks a sealed value (and its
format); the key id, derived from the key without revealing it, lets a server holding another key
say so plainly. The associated data names the value's place (table, column, row id), so a sealed
value copied into another row does not open.

The key is, first found: `server.secret_key` in the run config, `OGX_SECRET_KEY`, else the file
`secret.key` in the run config's data directory, created on first start (mode 0600). A key is 32
random bytes in URL-safe base64 (`generate_key()`). To rotate it, give the new key and list the
old one in `server.previous_secret_keys` (or `OGX_PREVIOUS_SECRET_KEYS`): what the old key sealed
still opens, and stores re-seal their long-lived values under the new key at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import SecretStr

from ogx.config.errors import ConfigError
from ogx_api import OGXError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

PREFIX = "ogxenc1:"
KEY_ENV = "OGX_SECRET_KEY"
PREVIOUS_ENV = "OGX_PREVIOUS_SECRET_KEYS"
KEY_FILE = "secret.key"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_KEY_HINT = (
    "32 random bytes in URL-safe base64 (44 characters), e.g. from "
    '`python -c "import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`'
)


class SecretUnreadable(OGXError):
    """A stored secret this server cannot decrypt: another key sealed it, or it was altered."""

    status_code = 500
    code = "secret_unreadable"


class SecretBox:
    """Seals stored secrets with the current key; opens what it or a previous key sealed."""

    def __init__(
        self,
        key: bytes,
        *,
        previous: Sequence[bytes] = (),
        source: str = "a key",
        key_file: Path | None = None,
    ) -> None:
        if any(len(k) != _KEY_BYTES for k in (key, *previous)):
            raise ValueError(f"a secret key is {_KEY_BYTES} bytes")
        self.key_id = _key_id(key)
        self._keys = {_key_id(k): k for k in previous} | {self.key_id: key}
        self._ciphers: dict[str, AESGCM] = {}
        self.source = source  # where the key came from, for the start-up log (never the key)
        self.key_file = key_file

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r}, source={self.source!r})"

    def with_previous(self, keys: Sequence[bytes]) -> SecretBox:
        """This box, also opening what `keys` sealed (for rotating the key)."""
        return SecretBox(self._keys[self.key_id], previous=keys, source=self.source, key_file=self.key_file)

    def stale(self, sealed: Any) -> bool:
        """Whether a previous key sealed `sealed`: `seal(open(...))` moves it to the current key."""
        key_id = key_id_of(sealed)
        return key_id is not None and key_id != self.key_id and key_id in self._keys

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            # Imported on first use: `cryptography` costs ~50 ms of start-up, and most servers
            # store no secret.
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[key_id] = AESGCM(self._keys[key_id])
        return cipher

    def seal(self, value: Any, where: str) -> str:
        """`value` (JSON-ready) encrypted, bound to `where` (e.g. `tool_groups.secrets:<id>`)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher(self.key_id).encrypt(nonce, orjson.dumps(value), where.encode())
        return f"{PREFIX}{self.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: Any, where: str, *, what: str) -> Any:
        """The value `seal(value, where)` sealed; `SecretUnreadable` naming `what` otherwise."""
        key_id = key_id_of(sealed)
        if key_id is None:
            raise SecretUnreadable(f"cannot decrypt {what}: it is not in OGX's encrypted format")
        body = sealed.removeprefix(f"{PREFIX}{key_id}:")
        if key_id not in self._keys:
            previous = sorted(set(self._keys) - {self.key_id})
            also = f" (and it can open what keys {', '.join(previous)} sealed)" if previous else ""
            raise SecretUnreadable(
                f"cannot decrypt {what}: it was encrypted with secret key {key_id}, and this server's "
                f"key is {self.key_id}{also}; start the server with the key that encrypted it "
                f"(server.secret_key, {KEY_ENV}, or the {KEY_FILE} file of its data directory; "
                f"a key being replaced goes in server.previous_secret_keys or {PREVIOUS_ENV})"
            )
        from cryptography.exceptions import InvalidTag  # loaded with the cipher

        try:
            raw = base64.urlsafe_b64decode(body)
            plain = self._cipher(key_id).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], where.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretUnreadable(
                f"cannot decrypt {what}: the stored value was altered or belongs to another row"
            ) from None
        return orjson.loads(plain)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id_of(value: Any) -> str | None:
    """The id of the key that sealed `value`; None when it is not sealed."""
    return value.removeprefix(PREFIX).partition(":")[0] if is_sealed(value) else None


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode()


def configured_key(
    configured: SecretStr | None, environ: Mapping[str, str] | None = None
) -> SecretBox | None:
    """The box for `server.secret_key`, else `OGX_SECRET_KEY`; None when neither is set. A value
    that is not a key is a `ConfigError` naming where it came from."""
    env = os.environ if environ is None else environ
    if configured is not None and configured.get_secret_value():
        return SecretBox(
            _decode(configured.get_secret_value(), "server.secret_key"), source="server.secret_key"
        )
    if env.get(KEY_ENV):
        return SecretBox(_decode(env[KEY_ENV], KEY_ENV), source=KEY_ENV)
    return None


def previous_keys(configured: Sequence[SecretStr], environ: Mapping[str, str] | None = None) -> list[bytes]:
    """`server.previous_secret_keys`, else `OGX_PREVIOUS_SECRET_KEYS` (comma-separated): keys
    being replaced, which still open what they sealed."""
    env = os.environ if environ is None else environ
    named = [(v.get_secret_value(), f"server.previous_secret_keys[{i}]") for i, v in enumerate(configured)]
    if not named:
        values = [v for v in env.get(PREVIOUS_ENV, "").split(",") if v.strip()]
        named = [(v, f"{PREVIOUS_ENV}[{i}]") for i, v in enumerate(values)]
    return [_decode(value, where) for value, where in named]


def key_file_box(data_dir: Path) -> SecretBox:
    """The box for the key file in `data_dir`, created on first use. Workers starting at once
    agree: each writes a complete candidate to a private temporary file and links it into place
    (which fails if the file exists), then everyone reads the one that won."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, (generate_key() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(candidate, path)
            _fsync_dir(data_dir)
            logger.info("created the secret key file %s", path)
        except FileExistsError:
            pass  # another worker's key won
        finally:
            candidate.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("the secret key file %s is readable by others (mode %o): chmod 600 it", path, mode)
    where = f"the key file {path}"
    return SecretBox(_decode(path.read_text(), where), source=where, key_file=path)


def log_secret_key(box: SecretBox, engine: AsyncEngine) -> None:
    """Say which key seals the stored secrets (its id and source, never the key), and warn when
    replicas sharing a database server would each make a key file of their own."""
    logger.info("stored credentials are encrypted with secret key %s from %s", box.key_id, box.source)
    if box.key_file is not None and engine.dialect.name != "sqlite":
        logger.warning(
            "servers sharing this %s database need the same secret key: set %s (or server.secret_key) "
            "on each, to the key in %s",
            engine.dialect.name,
            KEY_ENV,
            box.key_file,
        )


def _key_id(key: bytes) -> str:
    return hmac.new(key, b"ogx secret key id", hashlib.sha256).hexdigest()[:8]


def _decode(text: str, where: str) -> bytes:
    try:  # the standard alphabet too (`openssl rand -base64 32`)
        key = base64.b64decode(
            text.strip().replace("+", "-").replace("/", "_"), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise ConfigError([f"{where}: not a secret key; expected {_KEY_HINT}"])
    return key


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
