"""Batches: many requests from one uploaded file, run in the background (`ogx.jobs`), their
answers written back as files (OpenAI), or many Messages requests in one body, their results kept on
the batch's row (Anthropic, `messages`). `core` is vendor-neutral; `openai` is the OpenAI line format."""

from ogx.batches.messages import MessageBatchesService
from ogx.batches.service import BatchesService, CreateBatchRequest
from ogx.batches.store import BatchStore

__all__ = ["BatchStore", "BatchesService", "CreateBatchRequest", "MessageBatchesService"]
