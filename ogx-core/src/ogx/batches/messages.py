"""Anthropic's Message Batches API: create, read, list, cancel, delete batches and read their
results; the job (`ogx.jobs`, kind `anthropic.message_batch`) that runs one.

A batch is a row of the `batches` table (kind `anthropic`, its requests on the row) and a job,
written in one transaction. The whole body is validated when the batch is created, as Anthropic
does. The job runs each request through `MessagesService.create` (translation or native
passthrough, never streamed) with `core.run_lines`, and ends the batch by writing its results on
the row with the `ended` status in one statement, so an ended batch always has its results.
in_progress → ended, or → canceling → ended (requests not started are `canceled`). A worker that
dies leaves the job to be reclaimed; it runs the batch again from its first request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from ogx.anthropic import CreateMessageRequest, MessagesService, anthropic_envelope
from ogx.batches.core import Line, LineError, LineResult, Progress, run_lines
from ogx.batches.message_types import CreateMessageBatchRequest
from ogx.batches.store import BatchStore
from ogx.config.schema import BatchesConfig
from ogx.ids import random_hex
from ogx.jobs import Job, JobQueue
from ogx.server.errors import invalid_request
from ogx_api import InvalidRequest, NotFound, OGXError

logger = logging.getLogger(__name__)

JOB_KIND = "anthropic.message_batch"
KIND = "anthropic"
EXPIRES_SECONDS = 24 * 3600
RUNNING = ("in_progress", "canceling")


class MessageBatchesService:
    def __init__(
        self,
        store: BatchStore,
        *,
        jobs: JobQueue,
        messages: MessagesService,
        config: BatchesConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._messages = messages
        self._config = config
        self.clock = clock
        jobs.register(JOB_KIND, self._run, on_failed=self._failed)

    # -- the endpoints --------------------------------------------------------------------------

    async def create(
        self, body: CreateMessageBatchRequest, requests: list[dict[str, Any]], owner: str | None
    ) -> dict[str, Any]:
        """`body` validated; `requests` as sent (what each request is run with)."""
        if len(requests) > self._config.max_requests:
            raise InvalidRequest(
                f"requests: {len(requests)} requests; this server runs at most "
                f"{self._config.max_requests} in a batch (`batches.max_requests`)",
                param="requests",
            )
        seen: set[str] = set()
        for number, request in enumerate(body.requests):
            if request.custom_id in seen:
                raise InvalidRequest(
                    f"requests.{number}.custom_id: {request.custom_id!r} is used more than once; "
                    "custom_id must be unique within a batch",
                    param=f"requests.{number}.custom_id",
                )
            seen.add(request.custom_id)
        now = self.clock()
        batch = {
            "id": f"msgbatch_{random_hex(24)}",
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": _counts(processing=len(requests)),
            "ended_at": None,
            "created_at": _rfc3339(now),
            "expires_at": _rfc3339(now + EXPIRES_SECONDS),
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": None,
        }
        await self._store.insert(
            batch,
            owner=owner,
            created_at_ns=int(now * 1e9),
            requests=requests,
            also=lambda conn: self._jobs.submit_many(JOB_KIND, [{"id": batch["id"]}], owner=owner, conn=conn),
        )
        self._jobs.wake(JOB_KIND)
        return batch

    async def get(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        return await self._store.get(batch_id, owner)

    async def list(
        self, *, owner: str | None, before: str | None, after: str | None, limit: int
    ) -> dict[str, Any]:
        found = await self._store.list(owner=owner, before=before, after=after, limit=limit, max_limit=1000)
        found.pop("object", None)  # Anthropic's list has none
        return found

    async def cancel(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        """An ended or canceling batch is answered as it is."""
        changes = {"processing_status": "canceling", "cancel_initiated_at": _rfc3339(self.clock())}
        changed = await self._store.update(batch_id, owner, changes, only_if=("in_progress",))
        return changed if changed is not None else await self._store.get(batch_id, owner)

    async def delete(self, batch_id: str, owner: str | None) -> dict[str, Any]:
        batch = await self._store.get(batch_id, owner)
        if not await self._store.delete(batch_id, owner, only_if=("ended",)):
            raise InvalidRequest(
                f"message batch {batch_id!r} is {batch['processing_status']}; a batch can be deleted "
                "once it has ended (cancel it first)",
                param="message_batch_id",
            )
        return {"id": batch_id, "type": "message_batch_deleted"}

    async def results(self, batch_id: str, owner: str | None) -> list[dict[str, Any]]:
        batch = await self._store.get(batch_id, owner)
        if batch["processing_status"] != "ended":
            raise InvalidRequest(
                f"message batch {batch_id!r} is still {batch['processing_status']}; its results are "
                "available once it has ended",
                param="message_batch_id",
            )
        return await self._store.results(batch_id, owner)

    # -- the job --------------------------------------------------------------------------------

    async def _run(self, job: Job) -> None:
        batch_id, owner = job.payload["id"], job.owner
        try:
            batch = await self._store.get(batch_id, owner)
            requests = await self._store.requests(batch_id, owner)
        except NotFound:
            return  # deleted
        if batch["processing_status"] == "ended":
            return  # ended before a restart: nothing to do again
        lines = await asyncio.to_thread(_lines, requests)
        progress = Progress(total=len(lines))
        if batch["processing_status"] == "in_progress":
            deadline = datetime.fromisoformat(batch["expires_at"]).timestamp()

            async def checkpoint(_: Progress) -> bool:
                return (await self._store.get(batch_id, owner))["processing_status"] == "in_progress"

            progress = await run_lines(
                lines,
                self._executor(owner),
                concurrency=self._config.max_concurrency,
                checkpoint=checkpoint,
                expired=lambda: self.clock() >= deadline,
            )
        await self._end(batch_id, owner, lines, progress)

    def _executor(self, owner: str | None) -> Callable[[Line], Any]:
        messages = self._messages

        async def execute(line: Line) -> dict[str, Any]:
            body, raw = line.body
            return dict(await messages.create(body, raw, owner))  # type: ignore[call-overload]  # not streamed

        return execute

    async def _end(self, batch_id: str, owner: str | None, lines: list[Line], progress: Progress) -> None:
        """Write every request's result (those that did not run: `expired` past the deadline,
        else `canceled`) and end the batch."""
        ran = {result.line.number: result for result in progress.results}
        not_run = {"type": "expired" if progress.expired else "canceled"}
        results = [_result(line, ran.get(line.number), not_run) for line in lines]
        tally = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for result in results:
            tally[result["result"]["type"]] += 1
        changes = {
            "processing_status": "ended",
            "ended_at": _rfc3339(self.clock()),
            "request_counts": _counts(**tally),
        }
        await self._store.update(batch_id, owner, changes, only_if=RUNNING, results=results)
        logger.info("message batch %s ended: %s", batch_id, tally)

    async def _failed(self, job: Job, error: str) -> None:
        """The job failed for good (a bug, or its last worker died): every request errored."""
        batch_id, owner = job.payload["id"], job.owner
        try:
            requests = await self._store.requests(batch_id, owner)
        except NotFound:
            return
        failure = anthropic_envelope(OGXError("the batch could not be run"))
        results = [
            {"custom_id": r.get("custom_id"), "result": {"type": "errored", "error": failure}}
            for r in requests
        ]
        changes = {
            "processing_status": "ended",
            "ended_at": _rfc3339(self.clock()),
            "request_counts": _counts(errored=len(results)),
        }
        await self._store.update(batch_id, owner, changes, only_if=RUNNING, results=results)


def _lines(requests: list[dict[str, Any]]) -> list[Line]:
    """The stored requests, validated again (they were at create time) into what runs them."""
    lines = []
    for number, request in enumerate(requests, start=1):
        params, custom_id = request.get("params"), request.get("custom_id")
        try:
            body = CreateMessageRequest.model_validate(params)
        except ValidationError as exc:
            lines.append(
                Line(
                    number,
                    custom_id,
                    invalid=LineError("invalid_request", invalid_request(exc, params).message),
                )
            )
            continue
        if body.stream:
            lines.append(
                Line(
                    number,
                    custom_id,
                    invalid=LineError(
                        "invalid_request", "params.stream: streaming is not supported in a message batch"
                    ),
                )
            )
            continue
        lines.append(Line(number, custom_id, (body, orjson.dumps(params))))
    return lines


def _result(line: Line, ran: LineResult | None, not_run: dict[str, Any]) -> dict[str, Any]:
    if ran is None:
        outcome = not_run
    elif ran.succeeded:
        outcome = {"type": "succeeded", "message": ran.body}
    elif ran.failure is not None:
        outcome = {"type": "errored", "error": anthropic_envelope(ran.failure)}
    else:
        message = ran.error.message if ran.error is not None else "the request could not be run"
        outcome = {"type": "errored", "error": anthropic_envelope(InvalidRequest(message))}
    return {"custom_id": line.custom_id, "result": outcome}


def _counts(**counts: int) -> dict[str, int]:
    return {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **counts}


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
