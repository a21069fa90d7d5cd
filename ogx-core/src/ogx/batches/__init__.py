"""Batches: many requests from one uploaded file, run in the background (`ogx.jobs`), their
answers written back as files. `core` is vendor-neutral; `openai` is the OpenAI line format."""

from ogx.batches.service import BatchesService, CreateBatchRequest
from ogx.batches.store import BatchStore

__all__ = ["BatchStore", "BatchesService", "CreateBatchRequest"]
