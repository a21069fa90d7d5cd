"""The app factory. `create_app` validates the run config against the installed plugins at
once (so a bad config fails before the server listens); the lifespan opens storage, starts the
providers in dependency order and closes everything in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI

from ogx import __version__
from ogx.anthropic import MessagesService, anthropic_envelope
from ogx.batches import BatchesService, BatchStore, MessageBatchesService
from ogx.config import RunConfig
from ogx.conversations import ConversationsService
from ogx.encryption import configured_key, key_file_box, log_secret_key, previous_keys
from ogx.files import start_files, with_localfs_defaults
from ogx.google import InteractionsService, InteractionStore, google_envelope
from ogx.jobs import JobQueue, JobRunner
from ogx.plugins import PluginManager
from ogx.providers.resolver import (
    ProviderInstance,
    prepare_providers,
    provider_data_validators,
    start_providers,
)
from ogx.responses import ResponsesService, ResponseStore, ToolServices
from ogx.routing.inference import InferenceRouter
from ogx.routing.models import ModelRegistry
from ogx.server import body
from ogx.server.errors import ErrorLayer, openai_envelope
from ogx.server.heap import frozen_startup_heap
from ogx.server.provider_data import ProviderDataMiddleware
from ogx.server.routes import anthropic, google, inspect, models, openai_inference, vector_io
from ogx.server.routes import batches as batches_routes
from ogx.server.routes import conversations as conversations_routes
from ogx.server.routes import files as files_routes
from ogx.server.routes import message_batches as message_batches_routes
from ogx.server.routes import responses as responses_routes
from ogx.server.routes import tools as tools_routes
from ogx.server.routes import vector_stores as vector_stores_routes
from ogx.server.services import Services
from ogx.storage import create_engine, migrate, resolve_storage_url
from ogx.stores.chat_completions import ChatCompletionStore
from ogx.tools import start_tools, with_outbound_policy
from ogx.vector_stores import VectorStoresService
from ogx_api import Api
from ogx_api.paths import run_data_dir

logger = logging.getLogger(__name__)

INITIAL_REFRESH_TIMEOUT = 5.0


def create_app(
    config: RunConfig,
    *,
    plugins: PluginManager | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    plugins = plugins if plugins is not None else PluginManager()
    config = with_outbound_policy(with_localfs_defaults(config, environ))
    prepared = prepare_providers(config, plugins, environ=environ)
    storage_url = resolve_storage_url(config.storage.url, config.name or "default", environ)
    secret_box = configured_key(config.server.secret_key, environ)  # a malformed key fails now
    previous = previous_keys(config.server.previous_secret_keys, environ)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            engine = create_engine(storage_url, config.storage.pool_size)
            stack.push_async_callback(engine.dispose)
            box = (secret_box or key_file_box(run_data_dir(config.name, environ))).with_previous(previous)
            log_secret_key(box, engine)
            await migrate(engine, box=box)
            chat_completions = ChatCompletionStore(engine)
            await chat_completions.start()
            stack.push_async_callback(chat_completions.close)
            registries: dict[str, ModelRegistry] = {}

            def build_router(api: Api, started: list[ProviderInstance]) -> object:
                if api is Api.inference:
                    registries["inference"] = ModelRegistry(
                        config.registered_resources.models, {i.provider_id: i.impl for i in started}, engine
                    )
                    return InferenceRouter(registries["inference"], chat_completions)
                return {i.provider_id: i.impl for i in started}

            instances, routers = await start_providers(prepared, stack, build_router)
            registry = registries.get("inference") or ModelRegistry([], {}, engine)
            inference = routers.get(Api.inference) or InferenceRouter(registry, chat_completions)
            await registry.load_persisted()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(INITIAL_REFRESH_TIMEOUT):
                    await registry.refresh()
            refresher = asyncio.create_task(registry.run_refresh_loop(config.server.model_refresh_interval))
            stack.callback(refresher.cancel)
            files = await start_files(config, instances, engine, stack, environ)
            jobs = JobQueue(engine)
            vector_stores = VectorStoresService(
                engine,
                files=files,
                inference=inference,  # type: ignore[arg-type]
                providers={i.provider_id: i.impl for i in instances if i.api is Api.vector_io},
                jobs=jobs,
            )
            await vector_stores.start()
            tools = await start_tools(config, instances, engine, box, stack)
            interactions = InteractionsService(inference, InteractionStore(engine), jobs)  # type: ignore[arg-type]
            conversations = ConversationsService(engine)
            response_store = ResponseStore(engine, box)
            await response_store.start()
            stack.push_async_callback(response_store.close)
            responses = ResponsesService(
                inference,  # type: ignore[arg-type]
                response_store,
                files=files,
                jobs=jobs,
                tools=ToolServices(vector_stores=vector_stores, tools=tools),
                conversations=conversations,
            )
            batches = BatchesService(
                BatchStore(engine),
                files=files,
                jobs=jobs,
                inference=inference,  # type: ignore[arg-type]
                responses=responses,
                config=config.batches,
            )
            messages = MessagesService(registry, inference)  # type: ignore[arg-type]
            message_batches = MessageBatchesService(
                BatchStore(engine, kind="anthropic"), jobs=jobs, messages=messages, config=config.batches
            )
            # Last to start, first to stop: handlers may use any service above.
            job_runner = JobRunner(jobs)
            await job_runner.start()
            stack.push_async_callback(job_runner.stop)
            app.state.ogx = Services(
                config=config,
                plugins=plugins,
                providers=instances,
                models=registry,
                inference=inference,  # type: ignore[arg-type]
                chat_completions=chat_completions,
                started_at=time.time(),
                interactions=interactions,
                files=files,
                jobs=jobs,
                vector_stores=vector_stores,
                tools=tools,
                conversations=conversations,
                responses=responses,
                messages=messages,
                batches=batches,
                message_batches=message_batches,
            )
            logger.info(
                "OGX %s ready: %d providers, %d models", __version__, len(instances), len(registry.list())
            )
            stack.enter_context(frozen_startup_heap())
            yield

    app = FastAPI(
        title="OGX",
        version=__version__,
        description="An AI application server: the OpenAI, Anthropic and Google APIs over pluggable providers.",
        lifespan=lifespan,
    )
    errors = ErrorLayer()
    errors.install(app)
    app.state.errors = errors
    # Google's namespaces; the OGX APIs served under them keep OpenAI's envelope.
    for prefix in google.ENVELOPE_PREFIXES:
        errors.register(prefix, google_envelope)
    errors.register("/v1alpha/file-processors", openai_envelope)
    errors.register("/v1beta/connectors", openai_envelope)
    errors.register("/v1/messages", anthropic_envelope)
    validators = provider_data_validators(prepared)
    if validators:
        app.add_middleware(ProviderDataMiddleware, validators=validators, errors=errors)
    # Routes are matched in order, each failed match costing µs: the hot paths first, and the
    # two Messages routes before the dozen of the OpenAI router that /v1/messages would try.
    for module in (anthropic, openai_inference, models, inspect):
        app.include_router(module.router)
    for router in google.routers:
        app.include_router(router)
    app.include_router(files_routes.router)
    app.include_router(vector_stores_routes.router)
    app.include_router(vector_io.router)
    app.include_router(tools_routes.router)
    app.include_router(conversations_routes.router)
    app.include_router(responses_routes.router)
    app.include_router(batches_routes.router)
    app.include_router(message_batches_routes.router)
    app.include_router(google.v1_router)  # /v1/interactions: last, where other /v1 requests never try it
    body.install_schemas(app)
    return app
