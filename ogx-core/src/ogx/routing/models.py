"""The model registry: which provider serves which model id.

Models come from the run config (`registered_resources.models`) and from each provider's own
model list (as `provider_id/provider_model_id`). The registry is persisted, so models of a
provider that is down at start-up stay routable, and refreshed on an interval. Resolving a
model is one dict lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ogx.config import ModelConfig
from ogx.storage import tables
from ogx.storage.engine import serialized_transaction
from ogx_api import InvalidRequest, NotFound
from ogx_api.inference import InferenceProvider, ModelType, ProviderModel

logger = logging.getLogger(__name__)

LIST_MODELS_TIMEOUT = 10.0


@dataclass(frozen=True)
class ModelEntry:
    id: str
    provider_id: str
    provider_model_id: str
    model_type: ModelType
    metadata: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    source: str = "provider"
    created: int = 0

    def as_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.provider_id,
            "ogx": {
                "provider_id": self.provider_id,
                "provider_model_id": self.provider_model_id,
                "model_type": self.model_type.value,
                "metadata": self.metadata,
                "aliases": list(self.aliases),
            },
        }


class ModelRegistry:
    def __init__(
        self,
        configured: list[ModelConfig],
        providers: Mapping[str, InferenceProvider],
        engine: AsyncEngine | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._engine = engine
        now = int(time.time())
        self._configured = [
            ModelEntry(
                id=m.model_id,
                provider_id=str(m.provider_id),
                provider_model_id=m.backend_model_id,
                model_type=m.model_type,
                metadata=dict(m.metadata),
                aliases=tuple(m.aliases),
                source="config",
                created=now,
            )
            for m in configured
            if m.provider_id in self._providers
        ]
        self._discovered: dict[str, list[ModelEntry]] = {}
        self._entries: list[ModelEntry] = []
        self._by_name: dict[str, ModelEntry] = {}
        self._rebuild()

    def provider(self, entry: ModelEntry) -> InferenceProvider:
        return self._providers[entry.provider_id]

    def list(self) -> list[ModelEntry]:
        return self._entries

    def resolve(self, model_id: str, model_type: ModelType | None = None) -> ModelEntry:
        entry = self._by_name.get(model_id)
        if entry is None:
            available = ", ".join(e.id for e in self._entries) or "none"
            raise NotFound(
                f"model {model_id!r} not found; available models: {available}",
                param="model",
                code="model_not_found",
            )
        if model_type is not None and entry.model_type is not model_type:
            matching = ", ".join(e.id for e in self._entries if e.model_type is model_type) or "none"
            raise InvalidRequest(
                f"model {model_id!r} is an {entry.model_type.value} model, this endpoint needs an "
                f"{model_type.value} model; {model_type.value} models: {matching}",
                param="model",
                code="model_type_mismatch",
            )
        return entry

    async def load_persisted(self) -> None:
        """Routes models that providers listed before, until they are refreshed."""
        if self._engine is None:
            return
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(tables.models).where(tables.models.c.source == "provider"))
            ).all()
        discovered: dict[str, list[ModelEntry]] = {}
        for row in rows:
            if row.provider_id in self._providers:
                discovered.setdefault(row.provider_id, []).append(
                    ModelEntry(
                        id=row.id,
                        provider_id=row.provider_id,
                        provider_model_id=row.provider_model_id,
                        model_type=ModelType(row.model_type),
                        metadata=row.metadata,
                        aliases=tuple(row.aliases),
                        created=row.created_at,
                    )
                )
        self._discovered = discovered
        self._rebuild()

    async def refresh(self) -> None:
        """Ask every provider for its models (concurrently, bounded by a timeout). A provider
        that fails keeps the models it listed before."""
        results = await asyncio.gather(
            *(self._list_provider(pid, p) for pid, p in self._providers.items()), return_exceptions=False
        )
        changed = []
        for provider_id, models in results:
            if models is None:
                continue
            previous = {e.id: e.created for e in self._discovered.get(provider_id, [])}
            now = int(time.time())
            self._discovered[provider_id] = [
                ModelEntry(
                    id=f"{provider_id}/{m.provider_model_id}",
                    provider_id=provider_id,
                    provider_model_id=m.provider_model_id,
                    model_type=m.model_type,
                    metadata=dict(m.metadata),
                    created=previous.get(f"{provider_id}/{m.provider_model_id}", now),
                )
                for m in models
            ]
            changed.append(provider_id)
        self._rebuild()
        if changed:
            await self._persist(changed)

    async def _list_provider(
        self, provider_id: str, provider: InferenceProvider
    ) -> tuple[str, list[ProviderModel] | None]:
        try:
            async with asyncio.timeout(LIST_MODELS_TIMEOUT):
                return provider_id, await provider.list_models()
        except Exception as exc:  # a provider that is down must not stop the others: logged, retried later
            logger.warning("could not list models of provider %s: %s", provider_id, exc)
            return provider_id, None

    async def run_refresh_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.refresh()

    def _rebuild(self) -> None:
        configured_targets = {(e.provider_id, e.provider_model_id): e for e in self._configured}
        entries = list(self._configured)
        by_name: dict[str, ModelEntry] = {}
        for entry in self._configured:
            for name in (entry.id, *entry.aliases):
                by_name.setdefault(name, entry)
        for provider_entries in self._discovered.values():
            for entry in provider_entries:
                target = configured_targets.get((entry.provider_id, entry.provider_model_id))
                if target is not None:
                    # The config describes this model (metadata, type): its canonical id answers too.
                    by_name.setdefault(entry.id, target)
                    continue
                if entry.id not in by_name:
                    by_name[entry.id] = entry
                    entries.append(entry)
        self._entries, self._by_name = entries, by_name

    async def _persist(self, provider_ids: list[str]) -> None:
        if self._engine is None:
            return
        rows = [
            {
                "id": e.id,
                "provider_id": e.provider_id,
                "provider_model_id": e.provider_model_id,
                "model_type": e.model_type.value,
                "metadata": e.metadata,
                "aliases": list(e.aliases),
                "source": "provider",
                "owner": None,
                "created_at": e.created,
            }
            for pid in provider_ids
            for e in self._discovered[pid]
        ]
        try:
            async with serialized_transaction(self._engine, "ogx-model-registry") as conn:
                await conn.execute(
                    tables.models.delete().where(tables.models.c.provider_id.in_(provider_ids))
                )
                if rows:
                    await conn.execute(tables.models.insert(), rows)
        except sa.exc.SQLAlchemyError as exc:  # persistence is a cache here; routing keeps working
            logger.warning("could not persist the model registry: %s", exc)
