"""What the routes reach: the services the app's lifespan built, stored on `app.state.ogx`."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ogx.anthropic import MessagesService
from ogx.batches import BatchesService, MessageBatchesService
from ogx.config import RunConfig
from ogx.conversations import ConversationsService
from ogx.files import FilesService
from ogx.google import InteractionsService
from ogx.jobs import JobQueue
from ogx.plugins import PluginManager
from ogx.providers.resolver import ProviderInstance
from ogx.responses import ResponsesService
from ogx.routing.inference import InferenceRouter
from ogx.routing.models import ModelRegistry
from ogx.stores.chat_completions import ChatCompletionStore
from ogx.tools import ToolsService
from ogx.vector_stores import VectorStoresService


@dataclass
class Services:
    config: RunConfig
    plugins: PluginManager
    providers: list[ProviderInstance]
    models: ModelRegistry
    inference: InferenceRouter
    chat_completions: ChatCompletionStore
    started_at: float
    interactions: InteractionsService
    files: FilesService
    jobs: JobQueue
    vector_stores: VectorStoresService
    tools: ToolsService
    conversations: ConversationsService
    responses: ResponsesService
    messages: MessagesService
    batches: BatchesService
    message_batches: MessageBatchesService


def services(request: Request) -> Services:
    return request.app.state.ogx


def owner(request: Request) -> str | None:
    """Who the request acts for: every stored object records it, and reads are filtered by it.
    None until authentication sets `request.state.principal`."""
    # Not `request.state.principal`: a missing attribute there costs a formatted AttributeError.
    state = request.scope.get("state")
    return state.get("principal") if state else None
