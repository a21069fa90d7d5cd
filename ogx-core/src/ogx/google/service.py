"""The Interactions API over the inference router: create (JSON, stream or background), get,
delete and cancel, with stored interactions as the conversation state behind
`previous_interaction_id`.

A background interaction is a job (`ogx.jobs`, kind `google.interaction`): it survives a restart
(a stopping server hands it back, a dead worker's lease expires, and another worker runs it
again) and any worker may run it. Its row says `in_progress` until the job stores the result, so
any worker can answer GET; cancel and delete cancel the job (in whichever worker holds it) and win
over a result that arrives later (the result is stored only while the row is still
`in_progress`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from ogx.google import stream, translate
from ogx.google.schema import CreateInteractionRequest
from ogx.google.store import InteractionStore
from ogx.ids import random_hex
from ogx.jobs import Job, JobQueue
from ogx.routing.inference import InferenceRouter
from ogx_api import InvalidRequest, NotFound, OGXError
from ogx_api.inference import ChatCompletionRequest, ModelType
from ogx_api.inference.requests import StreamOptions

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.25  # seconds between looks at a background interaction a client streams
JOB_KIND = "google.interaction"

_ECHOED = (
    "system_instruction",
    "tools",
    "previous_interaction_id",
    "response_modalities",
    "response_format",
    "response_mime_type",
    "service_tier",
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InteractionsService:
    def __init__(self, inference: InferenceRouter, store: InteractionStore, jobs: JobQueue) -> None:
        self._inference = inference
        self._store = store
        self._jobs = jobs
        jobs.register(JOB_KIND, self._run)

    # -- create ---------------------------------------------------------------------------------

    async def create(
        self, body: CreateInteractionRequest, owner: str | None
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        store = body.store is not False
        if body.background and body.stream:
            raise InvalidRequest(
                "background: a background interaction cannot also stream", param="background"
            )
        if body.background and not store:
            raise InvalidRequest("store: a background interaction must be stored", param="store")
        history = await self._history(body.previous_interaction_id, owner)
        turns = translate.input_turns(body)
        chat = translate.chat_request(body, history, turns)
        created = _now()
        base = {
            "id": f"v1_{random_hex(16)}",
            "object": "interaction",
            "model": body.model,
            "status": "in_progress",
            "created": created,
            "updated": created,
            "role": "model",
            **body.model_dump(mode="json", include=set(_ECHOED), exclude_none=True),
        }
        conversation = history + turns
        raw_input = (
            body.model_dump(mode="json", include={"input"}, exclude_none=True)["input"] if store else None
        )

        async def finish(
            outputs: list[dict[str, Any]], finish_reason: str | None, usage: dict[str, Any] | None
        ) -> dict[str, Any]:
            done = _completed(base, outputs, finish_reason, usage)
            if store:
                await self._store.save(
                    done, input=raw_input, history=_with_outputs(conversation, outputs), owner=owner
                )
            return done

        if body.background:
            self._inference.registry.resolve(body.model, ModelType.llm)  # an unknown model is a 404 now
            await self._store.save(base, input=raw_input, history=conversation, owner=owner)
            payload = {"id": base["id"], "chat": chat.model_dump(mode="json", exclude_none=True)}
            job_id = await self._jobs.submit(JOB_KIND, payload, owner=owner)
            await self._store.set_job(base["id"], job_id)
            return base
        if body.stream:
            chat.stream = True
            chat.stream_options = StreamOptions(include_usage=True)
            chunks = await self._inference.chat_completion_stream(chat, owner)
            return stream.events(chunks, base, finish)
        completion = await self._inference.chat_completion(chat, owner)
        choice = completion["choices"][0]
        return await finish(
            translate.outputs(dict(choice["message"])),
            choice.get("finish_reason"),
            completion.get("usage"),  # type: ignore[arg-type]
        )

    async def _history(self, previous_id: str | None, owner: str | None) -> list[dict[str, Any]]:
        if previous_id is None:
            return []
        try:
            row = await self._store.get(previous_id, owner)
        except NotFound:
            raise NotFound(
                f"previous_interaction_id: interaction {previous_id!r} not found (was it created with "
                "store: false, or deleted?)",
                param="previous_interaction_id",
                code="not_found",
            ) from None
        if row.status == "in_progress":
            raise InvalidRequest(
                f"previous_interaction_id: interaction {previous_id!r} is still in progress",
                param="previous_interaction_id",
                code="failed_precondition",
            )
        return list(row.history)

    async def _run(self, job: Job) -> None:
        """Run a background interaction (a job handler). A row no longer `in_progress` was
        cancelled or deleted: nothing to do. Cancellation (by the client, or a stopping server,
        which queues the job again) propagates; the row stays as it is."""
        try:
            row = await self._store.get(job.payload["id"], job.owner)
        except NotFound:
            return
        if row.status != "in_progress":
            return
        base, history = dict(row.interaction), list(row.history)
        chat = ChatCompletionRequest.model_validate(job.payload["chat"])
        try:
            completion = await self._inference.chat_completion(chat, job.owner)
            choice = completion["choices"][0]
            outputs = translate.outputs(dict(choice["message"]))  # type: ignore[arg-type]
            done = _completed(base, outputs, choice.get("finish_reason"), completion.get("usage"))  # type: ignore[arg-type]
            history = _with_outputs(history, outputs)
        except OGXError as exc:
            logger.warning("background interaction %s failed: %r", base["id"], exc)
            done = {**base, "status": "failed", "updated": _now()}
        except Exception:  # a bug or an untyped failure: recorded only when no retry is left, re-raised
            if job.attempts >= job.max_attempts:  # no retry left: the client must not wait forever
                await self._store.finish(
                    {**base, "status": "failed", "updated": _now()}, history, only_if="in_progress"
                )
            raise  # the job system logs it and retries while attempts remain
        await self._store.finish(done, history, only_if="in_progress")

    # -- read, delete, cancel -------------------------------------------------------------------

    async def get(
        self, interaction_id: str, owner: str | None, *, include_input: bool = False
    ) -> dict[str, Any]:
        row = await self._store.get(interaction_id, owner)
        interaction = dict(row.interaction)
        if include_input and row.input is not None:
            interaction["input"] = row.input
        return interaction

    async def replay(
        self, interaction_id: str, owner: str | None, *, include_input: bool, last_event_id: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """A stored interaction as its stream of events (each with an `event_id`, so a client
        can resume after one); a background interaction still running is waited for."""
        interaction = await self.get(interaction_id, owner, include_input=include_input)
        skip = _event_number(last_event_id)

        async def events() -> AsyncIterator[dict[str, Any]]:
            current = interaction
            numbered = 0
            for event in _replayed(current, done=False):
                numbered += 1
                if numbered > skip:
                    yield {**event, "event_id": str(numbered)}
            while current["status"] == "in_progress":
                await asyncio.sleep(POLL_INTERVAL)
                current = await self.get(interaction_id, owner, include_input=include_input)
            for event in _replayed(current, done=True):
                numbered += 1
                if numbered > skip:
                    yield {**event, "event_id": str(numbered)}

        return events()

    async def delete(self, interaction_id: str, owner: str | None) -> dict[str, Any]:
        job_id = await self._store.delete(interaction_id, owner)
        if job_id is not None:
            await self._jobs.cancel(job_id)
        return {}

    async def cancel(self, interaction_id: str, owner: str | None) -> dict[str, Any]:
        row = await self._store.get(interaction_id, owner)
        if row.status != "in_progress":
            raise InvalidRequest(
                f"interaction {interaction_id!r} is {row.status}; only a background interaction still in "
                "progress can be cancelled",
                param="id",
                code="failed_precondition",
            )
        cancelled = {**row.interaction, "status": "cancelled", "updated": _now()}
        if not await self._store.finish(cancelled, list(row.history), only_if="in_progress"):
            return await self.get(interaction_id, owner)  # it finished in the meantime
        if row.job_id is not None:
            await self._jobs.cancel(row.job_id)
        return cancelled


def _completed(
    base: dict[str, Any],
    outputs: list[dict[str, Any]],
    finish_reason: str | None,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        **base,
        "status": translate.status(finish_reason, outputs),
        "updated": _now(),
        "outputs": outputs,
        "usage": translate.usage(usage),
    }


def _with_outputs(conversation: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*conversation, {"role": "model", "content": outputs}]


def _event_number(last_event_id: str | None) -> int:
    if last_event_id is None:
        return 0
    if not last_event_id.isdigit():
        raise InvalidRequest(
            f"last_event_id: {last_event_id!r} is not an event id of this interaction's stream",
            param="last_event_id",
        )
    return int(last_event_id)


def _replayed(interaction: dict[str, Any], *, done: bool) -> list[dict[str, Any]]:
    """The events of a stored interaction: the opening one, or (once it is no longer running)
    its outputs and the closing one."""
    if not done:
        started = {k: v for k, v in interaction.items() if k not in ("outputs", "usage")}
        return [{"event_type": "interaction.start", "interaction": {**started, "status": "in_progress"}}]
    events: list[dict[str, Any]] = []
    for index, block in enumerate(interaction.get("outputs") or []):
        if block["type"] == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text", "text": block["text"]}]
        elif block["type"] == "thought":
            start = {"type": "thought"}
            deltas = [{"type": "thought_summary", "content": part} for part in block.get("summary") or []]
        else:
            start, deltas = {**block, "arguments": {}}, [block]
        events.append({"event_type": "content.start", "index": index, "content": start})
        events.extend({"event_type": "content.delta", "index": index, "delta": d} for d in deltas)
        events.append({"event_type": "content.stop", "index": index})
    if interaction["status"] in ("completed", "requires_action", "incomplete"):
        events.append({"event_type": "interaction.complete", "interaction": interaction})
    else:
        events.append(
            {
                "event_type": "interaction.status_update",
                "interaction_id": interaction["id"],
                "status": interaction["status"],
            }
        )
    return events
