"""`inline::localfs`: file contents in a local directory, one file per id.

An upload is written to a hidden temporary name, synced and then renamed into place, so a crash
never leaves a partial file under a real id. Temporary files a crash left behind are removed at
start-up once they are old enough not to belong to an upload still in progress (several workers
may share the directory). The directory is created by the first upload, so a server that never
stores a file leaves no trace."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from ogx.storage import default_data_dir
from ogx_api import BaseProvider, HealthState, HealthStatus, NotFound
from ogx_api.files import DEFAULT_MAX_UPLOAD_BYTES

logger = logging.getLogger(__name__)

PROVIDER_TYPE = "inline::localfs"
WRITE_BUFFER = 1024 * 1024
READ_CHUNK = 256 * 1024
STALE_TEMP_SECONDS = 3600.0
_TEMP_SUFFIX = ".part"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class LocalFSConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage_dir: Path | None = Field(
        default=None,
        description="Directory for the files' contents. Default: `<data dir>/<config name>/files`, "
        "where the data dir is $OGX_DATA_DIR, else $XDG_DATA_HOME/ogx, else ~/.local/share/ogx.",
    )
    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES,
        gt=0,
        description="Largest file accepted by `POST /v1/files`, in bytes (default 100 MiB); "
        "a larger upload is refused with 413.",
    )


class LocalFSProvider(BaseProvider):
    def __init__(self, config: LocalFSConfig) -> None:
        if config.storage_dir is None:
            raise ValueError("LocalFSConfig.storage_dir must be set (the core fills in the default)")
        self.storage_dir = config.storage_dir.expanduser()
        self.max_upload_bytes = config.max_upload_bytes
        self._directory_ready = False

    async def start(self) -> None:
        await asyncio.to_thread(self._remove_stale_temp_files)

    async def health(self) -> HealthStatus:
        existing = self.storage_dir
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if os.access(existing, os.W_OK | os.X_OK):
            return HealthStatus(status=HealthState.ok)
        return HealthStatus(status=HealthState.error, message=f"{existing} is not writable")

    async def write(self, file_id: str, chunks: AsyncIterator[bytes]) -> int:
        path = self._path(file_id)
        if not self._directory_ready:
            await asyncio.to_thread(self.storage_dir.mkdir, parents=True, exist_ok=True)
            self._directory_ready = True
        temp = path.with_name(f".{file_id}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
        handle: BinaryIO = await asyncio.to_thread(open, temp, "xb")
        size = 0
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= WRITE_BUFFER:
                    await asyncio.to_thread(handle.write, buffer)
                    buffer = bytearray()
            if buffer:
                await asyncio.to_thread(handle.write, buffer)
            await asyncio.to_thread(_sync_and_close, handle)
            await asyncio.to_thread(os.replace, temp, path)
        except BaseException:  # also cancellation: the partial file goes, synchronously, then re-raised
            with contextlib.suppress(OSError, ValueError):
                handle.close()
            temp.unlink(missing_ok=True)
            raise
        return size

    async def read(self, file_id: str) -> AsyncIterator[bytes]:
        try:
            handle: BinaryIO = await asyncio.to_thread(open, self._path(file_id), "rb")
        except FileNotFoundError:
            raise NotFound(f"the contents of file {file_id!r} are missing", param="file_id") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, file_id: str) -> None:
        await asyncio.to_thread(self._path(file_id).unlink, missing_ok=True)

    def _path(self, file_id: str) -> Path:
        if not _SAFE_ID.match(file_id):
            raise ValueError(f"unsafe file id {file_id!r}")
        return self.storage_dir / file_id

    def _remove_stale_temp_files(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for temp in self.storage_dir.glob(f".*{_TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    logger.info("removed %s, left by an interrupted upload", temp)


def _sync_and_close(handle: BinaryIO) -> None:
    with handle:
        handle.flush()
        os.fsync(handle.fileno())


def default_files_dir(config_name: str | None, environ: Mapping[str, str] | None = None) -> Path:
    return default_data_dir(environ) / (config_name or "default") / "files"


def create_provider(config: LocalFSConfig, deps: Mapping[Any, Any]) -> LocalFSProvider:
    return LocalFSProvider(config)
