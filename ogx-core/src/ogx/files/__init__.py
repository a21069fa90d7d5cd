"""The files API: the `FilesService` (ids, metadata, owners, expiry, size limit) over a
`FilesProvider` for the bytes; `inline::localfs` is the built-in provider and the default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config import RunConfig
from ogx.files.localfs import PROVIDER_TYPE as LOCALFS
from ogx.files.localfs import LocalFSConfig, LocalFSProvider, default_files_dir
from ogx.files.service import FileDependent, FileInfo, FilesService, StagedFile
from ogx_api import Api

DEFAULT_PROVIDER_ID = "localfs"

__all__ = [
    "DEFAULT_PROVIDER_ID",
    "FileDependent",
    "FileInfo",
    "FilesService",
    "StagedFile",
    "start_files",
    "with_localfs_defaults",
]


def with_localfs_defaults(config: RunConfig, environ: Mapping[str, str] | None = None) -> RunConfig:
    """The run config with `storage_dir` filled in for `inline::localfs` entries that leave it
    out: the data directory of this config's name, like its database."""
    files = config.providers.get(Api.files)
    if not files or all(p.provider_type != LOCALFS or p.config.get("storage_dir") for p in files):
        return config
    default = str(default_files_dir(config.name, environ))
    entries = [
        p.model_copy(update={"config": {**p.config, "storage_dir": default}})
        if p.provider_type == LOCALFS and not p.config.get("storage_dir")
        else p
        for p in files
    ]
    return config.model_copy(update={"providers": {**config.providers, Api.files: entries}})


async def start_files(
    config: RunConfig,
    instances: Sequence[Any],
    engine: AsyncEngine,
    stack: AsyncExitStack,
    environ: Mapping[str, str] | None = None,
) -> FilesService:
    """The files service over the configured files providers (`instances` of the resolver), or
    over `inline::localfs` in the data directory when the run config configures none. Closed
    (with the default provider) when `stack` closes."""
    providers = {i.provider_id: i.impl for i in instances if i.api is Api.files}
    if not providers:
        default = LocalFSProvider(LocalFSConfig(storage_dir=default_files_dir(config.name, environ)))
        await default.start()
        stack.push_async_callback(default.close)
        providers = {DEFAULT_PROVIDER_ID: default}
    service = FilesService(engine, providers)
    await service.start()
    stack.push_async_callback(service.close)
    return service
