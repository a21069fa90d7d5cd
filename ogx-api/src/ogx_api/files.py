"""The files API: where the bytes of uploaded files live.

The core owns everything else about a file (its id, owner, purpose, expiry, the upload size
limit and the metadata row); a `FilesProvider` only stores, streams back and deletes bytes under
an id the core chose (`file-` followed by hex digits). The core's `inline::localfs` keeps them in
a directory; an object store (S3, GCS, …) plugs in the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, NotRequired, Protocol, runtime_checkable

from typing_extensions import TypedDict

from ogx_api.provider import Provider

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


FilePurpose = Literal[
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
]


class OpenAIFile(TypedDict):
    """A file's metadata as the files endpoints return it; times are unix seconds."""

    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    expires_at: NotRequired[int | None]
    filename: str
    purpose: FilePurpose
    status: Literal["uploaded", "processed", "error"]
    status_details: NotRequired[str | None]


class FileList(TypedDict):
    object: Literal["list"]
    data: list[OpenAIFile]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileDeleted(TypedDict):
    id: str
    object: Literal["file"]
    deleted: bool


@runtime_checkable
class FilesProvider(Provider, Protocol):
    """Stores file contents by id.

    `max_upload_bytes` is the largest file the provider accepts: the core counts an upload's
    bytes as they stream through and stops it (413) beyond this, so a provider never sees more.
    """

    max_upload_bytes: int

    async def write(self, file_id: str, chunks: AsyncIterator[bytes]) -> int:
        """Store the bytes `chunks` yields under `file_id` and return how many there were.

        Nothing is readable under `file_id` until `write` returns. If iterating `chunks` raises
        (the upload was too large, the client went away) or `write` is cancelled, no trace of
        the file remains and the exception propagates unchanged."""
        ...

    def read(self, file_id: str) -> AsyncIterator[bytes]:
        """The stored bytes as chunks of a bounded size. Raises `ogx_api.NotFound` (when
        iterated) if nothing is stored under `file_id`."""
        ...

    async def delete(self, file_id: str) -> None:
        """Remove the bytes stored under `file_id`; deleting a missing file is not an error."""
        ...
