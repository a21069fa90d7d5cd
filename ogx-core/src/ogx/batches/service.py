"""The OpenAI Batches API: create, read, list and cancel batches; the job (`ogx.jobs`, kind
`openai.batch`) that runs one.

A batch is a row (`BatchStore`) and a job. The job validates the input file (a file-level
problem fails the batch with `errors`; a bad line fails that line alone), runs the lines through
the inference router or the Responses service with bounded concurrency, writes the output and
error files through the Files API (`purpose=batch_output`) and completes the batch:
validating → in_progress → finalizing → completed. A cancellation moves it to `cancelling`; the
job sees that at its next checkpoint, starts no new line, writes what has run and ends it
`cancelled`. The job's lease keeps one worker on a batch; a worker that dies leaves the job to
be reclaimed, and it runs the batch again from its first line (at-least-once)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from pydantic import Field

from ogx.batches.core import Line, LineError, LineResult, Progress, add_usage, run_lines
from ogx.batches.openai import BODY_MODELS, OPENAI_ENDPOINTS, BatchFileError, output_line, parse_lines
from ogx.batches.store import BatchStore
from ogx.config.schema import BatchesConfig
from ogx.deferred import DeferredModel
from ogx.files import FilesService
from ogx.ids import random_hex
from ogx.jobs import Job, JobQueue
from ogx.responses import ResponsesService
from ogx.routing.inference import InferenceRouter
from ogx.storage.pagination import check_limit
from ogx_api import Conflict, InvalidRequest, NotFound
from ogx_api.metadata import Metadata

logger = logging.getLogger(__name__)

JOB_KIND = "openai.batch"
COMPLETION_WINDOW_SECONDS = 24 * 3600
RUNNING = ("validating", "in_progress")  # what a cancellation stops
RESUMABLE = (*RUNNING, "finalizing")  # what a job reclaimed after a crash runs again
# What each line not run by `expires_at` gets in the error file, in OpenAI's words.
BATCH_EXPIRED = LineError(
    "batch_expired", "This request could not be executed before the completion window expired."
)


class BatchFileExpiration(DeferredModel):
    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=2_592_000)


class CreateBatchRequest(DeferredModel):
    input_file_id: str
    endpoint: Literal[OPENAI_ENDPOINTS]  # type: ignore[valid-type]  # all of OpenAI's; unsupported ones are a 400
    completion_window: Literal["24h"]
    metadata: Metadata | None = None
    output_expires_after: BatchFileExpiration | None = None


class BatchesService:
    def __init__(
        self,
        store: BatchStore,
        *,
        files: FilesService,
        jobs: JobQueue,
        inference: InferenceRouter,
        responses: ResponsesService,
        config: BatchesConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._files = files
        self._jobs = jobs
        self._inference = inference
        self._responses = responses
        self._config = config
        self.clock = clock
        jobs.register(JOB_KIND, self._run, on_failed=self._failed)

    # -- the endpoints --------------------------------------------------------------------------

    async def create(self, body: CreateBatchRequest, owner: str | None) -> dict[str, Any]:
        if body.endpoint not in BODY_MODELS:
            raise InvalidRequest(
                f"endpoint {body.endpoint!r} is not supported in batches by this server; one of: "
                f"{', '.join(BODY_MODELS)}",
                param="endpoint",
            )
        now = self.clock()
        created_at = int(now)
        batch = {
            "id": f"batch_{random_hex(16)}",
            "object": "batch",
            "endpoint": body.endpoint,
            "model": None,
            "errors": None,
            "input_file_id": body.input_file_id,
            "completion_window": body.completion_window,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created_at,
            "in_progress_at": None,
            "expires_at": created_at + COMPLETION_WINDOW_SECONDS,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": _usage({}),
            "metadata": body.metadata,
        }
        expires = body.output_expires_after.seconds if body.output_expires_after else None
        payload = {"id": batch["id"], "output_expires_after": expires}
        await self._store.insert(
            batch,
            owner=owner,
            created_at_ns=int(now * 1e9),
            also=lambda conn: self._jobs.submit_many(JOB_KIND, [payload], owner=owner, conn=conn),
        )
        self._jobs.wake(JOB_KIND)
        return batch

    async def get(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        return await self._store.get(batch_id, owner)

    async def list(self, *, owner: str | None, after: str | None, limit: int) -> dict[str, Any]:
        check_limit(limit)
        return await self._store.list(owner=owner, after=after, limit=limit)

    async def cancel(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        batch = await self._store.get(batch_id, owner)
        if batch["status"] in ("cancelling", "cancelled"):
            return batch
        changed = await self._store.update(
            batch_id, owner, {"status": "cancelling", "cancelling_at": int(self.clock())}, only_if=RUNNING
        )
        if changed is None:
            status = (await self._store.get(batch_id, owner))["status"]
            raise Conflict(f"batch {batch_id!r} is {status} and can no longer be cancelled", param="batch_id")
        return changed

    # -- the job --------------------------------------------------------------------------------

    async def _run(self, job: Job) -> None:
        batch_id, owner = job.payload["id"], job.owner
        try:
            batch = await self._store.get(batch_id, owner)
        except NotFound:
            return
        if batch["status"] == "cancelling":
            await self._finish(batch_id, owner, Progress(total=0), job.payload)
            return
        if batch["status"] not in RESUMABLE:
            return  # finished before a restart: nothing to do again
        try:
            lines = await self._read_lines(batch, owner)
        except BatchFileError as exc:
            error = {"code": exc.code, "message": exc.message, "param": "input_file_id", "line": exc.line}
            changes = {
                "status": "failed",
                "failed_at": int(self.clock()),
                "errors": {"object": "list", "data": [error]},
            }
            if await self._store.update(batch_id, owner, changes, only_if=RESUMABLE) is None:
                await self._finish(batch_id, owner, Progress(total=0), job.payload)
            return
        started = {
            "status": "in_progress",
            "in_progress_at": batch["in_progress_at"] or int(self.clock()),
            "model": _model(lines),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }
        if await self._store.update(batch_id, owner, started, only_if=RESUMABLE) is None:
            await self._finish(batch_id, owner, Progress(total=len(lines)), job.payload)
            return

        async def checkpoint(progress: Progress) -> bool:
            counts = {"request_counts": _counts(progress)}
            return await self._store.update(batch_id, owner, counts, only_if=("in_progress",)) is not None

        execute = self._executor(batch["endpoint"], owner)
        progress = await run_lines(
            lines,
            execute,
            concurrency=self._config.max_concurrency,
            checkpoint=checkpoint,
            expired=lambda: self.clock() >= batch["expires_at"],
        )
        if progress.expired:
            ran = {result.line.number for result in progress.results}
            for line in lines:
                if line.number not in ran:
                    progress.add(LineResult(line, error=BATCH_EXPIRED))
            progress.results.sort(key=lambda r: r.line.number)
        await self._finish(batch_id, owner, progress, job.payload)

    async def _finish(
        self, batch_id: str, owner: str | None, progress: Progress, payload: dict[str, Any]
    ) -> None:
        """Write the output and error files and end the batch: `completed`, `expired` when its
        deadline stopped it, or `cancelled` when it was cancelled meanwhile."""
        finalizing = {
            "status": "finalizing",
            "finalizing_at": int(self.clock()),
            "request_counts": _counts(progress),
        }
        cancelled = await self._store.update(batch_id, owner, finalizing, only_if=("in_progress",)) is None
        files = {"output_file_id": None, "error_file_id": None}
        for key, results in (
            ("output_file_id", [r for r in progress.results if r.succeeded]),
            ("error_file_id", [r for r in progress.results if not r.succeeded]),
        ):
            if results:
                kind = key.split("_", 1)[0]
                files[key] = await self._write(f"{batch_id}_{kind}.jsonl", results, owner, payload)
        usage: dict[str, int] = {}
        for result in progress.results:
            add_usage(usage, (result.body or {}).get("usage"))
        now = int(self.clock())
        end = {**files, "request_counts": _counts(progress), "usage": _usage(usage)}
        status = "cancelled" if cancelled else "expired" if progress.expired else "completed"
        logger.info(
            "batch %s %s: %d of %d requests succeeded", batch_id, status, progress.completed, progress.total
        )
        await self._store.update(
            batch_id,
            owner,
            {**end, "status": status, f"{status}_at": now},
            only_if=("cancelling",) if cancelled else ("finalizing",),
        )

    async def _failed(self, job: Job, error: str) -> None:
        """The job failed for good (a bug, or its last worker died): the batch must not stay running."""
        data = [
            {"code": "server_error", "message": "the batch could not be run", "param": None, "line": None}
        ]
        changes = {
            "status": "failed",
            "failed_at": int(self.clock()),
            "errors": {"object": "list", "data": data},
        }
        owner = job.owner
        await self._store.update(job.payload["id"], owner, changes, only_if=RESUMABLE)
        await self._store.update(
            job.payload["id"],
            owner,
            {"status": "cancelled", "cancelled_at": int(self.clock())},
            only_if=("cancelling",),
        )

    async def _read_lines(self, batch: dict[str, Any], owner: str | None) -> list[Line]:
        try:
            info, chunks = await self._files.open(batch["input_file_id"], owner)
        except NotFound:
            raise BatchFileError("invalid_file", f"input file {batch['input_file_id']!r} not found") from None
        if info.purpose != "batch":
            raise BatchFileError(
                "invalid_file_purpose",
                f"the input file's purpose is {info.purpose!r}; upload it with purpose 'batch'",
            )
        data = b"".join([chunk async for chunk in chunks])
        # Validating up to 50,000 bodies takes a while: off the event loop, which keeps serving.
        return await asyncio.to_thread(
            parse_lines, data, batch["endpoint"], max_lines=self._config.max_requests
        )

    def _executor(self, endpoint: str, owner: str | None) -> Callable[[Line], Any]:
        inference, responses = self._inference, self._responses

        async def execute(line: Line) -> dict[str, Any]:
            if endpoint == "/v1/chat/completions":
                return dict(await inference.chat_completion(line.body, owner))
            if endpoint == "/v1/completions":
                return dict(await inference.completion(line.body))
            if endpoint == "/v1/embeddings":
                return dict(await inference.embeddings(line.body))
            return await responses.create(line.body, owner)  # type: ignore[return-value]  # not streamed

        return execute

    async def _write(
        self, filename: str, results: list[LineResult], owner: str | None, payload: dict[str, Any]
    ) -> str:
        async def content() -> AsyncIterator[bytes]:
            yield b"".join(output_line(r) for r in results)

        created = await self._files.create(
            content(),
            filename=filename,
            purpose="batch_output",
            owner=owner,
            expires_after=payload.get("output_expires_after"),
            content_type="application/jsonl",
        )
        return created["id"]


def _model(lines: list[Line]) -> str | None:
    for line in lines:
        model = getattr(line.body, "model", None)
        if isinstance(model, str):
            return model
    return None


def _counts(progress: Progress) -> dict[str, int]:
    return {"total": progress.total, "completed": progress.completed, "failed": progress.failed}


def _usage(total: dict[str, int]) -> dict[str, Any]:
    inputs, outputs = total.get("input_tokens", 0), total.get("output_tokens", 0)
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"cached_tokens": total.get("cached_tokens", 0)},
        "output_tokens": outputs,
        "output_tokens_details": {"reasoning_tokens": total.get("reasoning_tokens", 0)},
        "total_tokens": inputs + outputs,
    }
