"""Which Bedrock models the account can call, from the control plane's answers (pure functions).

A foundation model is callable by its own id when it supports `ON_DEMAND` inference; many newer
models are callable only through an inference profile (`us.anthropic…`), listed by
ListInferenceProfiles. Either way the model must produce text (an LLM) or embeddings, and the
account must be authorized for it (GetFoundationModelAvailability) — a model whose access could
not be checked is kept.
"""

from __future__ import annotations

from typing import Any

from ogx_api.inference import ModelType, ProviderModel
from ogx_bedrock.embeddings import EMBEDDING_DIMENSIONS, base_model_id


def model_type(summary: dict[str, Any]) -> ModelType | None:
    outputs = summary.get("outputModalities") or ()
    if "EMBEDDING" in outputs:
        return ModelType.embedding
    if "TEXT" in outputs:
        return ModelType.llm
    return None  # image or video generation: not served here


def _profile_model_ids(profile: dict[str, Any]) -> list[str]:
    ids = []
    for model in profile.get("models") or ():
        arn = model.get("modelArn") or ""
        if "foundation-model/" in arn:
            model_id = arn.rsplit("foundation-model/", 1)[1]
            if model_id not in ids:
                ids.append(model_id)
    return ids


def _on_demand(summary: dict[str, Any]) -> bool:
    return "ON_DEMAND" in (summary.get("inferenceTypesSupported") or ())


def models_to_check(foundation: list[dict[str, Any]], profiles: list[dict[str, Any]]) -> list[str]:
    """The foundation model ids whose access decides what `callable_models()` lists."""
    typed = {summary["modelId"] for summary in foundation if model_type(summary) is not None}
    ids = [
        summary["modelId"] for summary in foundation if summary["modelId"] in typed and _on_demand(summary)
    ]
    for profile in profiles:
        ids += [
            model_id for model_id in _profile_model_ids(profile) if model_id in typed and model_id not in ids
        ]
    return ids


def is_authorized(availability: dict[str, Any]) -> bool:
    """GetFoundationModelAvailability's verdict. The agreement status is not required: Bedrock
    accepts a serverless model's offer on its first invocation."""
    return (
        availability.get("authorizationStatus") == "AUTHORIZED"
        and availability.get("entitlementAvailability") == "AVAILABLE"
        and availability.get("regionAvailability") == "AVAILABLE"
    )


def callable_models(
    foundation: list[dict[str, Any]],
    profiles: list[dict[str, Any]],
    access: dict[str, bool | None] | None = None,
) -> list[ProviderModel]:
    """The models to list: on-demand foundation models, then active inference profiles, each of
    a text or embedding model the account may call (`access[model_id]` False hides it; None or a
    missing entry means unknown, and keeps it)."""
    access = access or {}
    by_id = {summary["modelId"]: summary for summary in foundation}
    listed: dict[str, ProviderModel] = {}

    def allowed(model_id: str) -> bool:
        return access.get(model_id) is not False

    for summary in foundation:
        kind = model_type(summary)
        model_id = summary["modelId"]
        if kind is not None and _on_demand(summary) and allowed(model_id):
            listed[model_id] = _provider_model(model_id, kind)
    for profile in profiles:
        profile_id = profile.get("inferenceProfileId")
        if not profile_id or profile.get("status", "ACTIVE") != "ACTIVE" or profile_id in listed:
            continue
        underlying = [by_id[model_id] for model_id in _profile_model_ids(profile) if model_id in by_id]
        kinds = {model_type(summary) for summary in underlying}
        if len(kinds) != 1 or None in kinds:
            continue  # models unknown in this region, or not text/embedding models
        if all(allowed(summary["modelId"]) for summary in underlying):
            listed[profile_id] = _provider_model(profile_id, kinds.pop())  # type: ignore[arg-type]
    return list(listed.values())


def _provider_model(model_id: str, kind: ModelType) -> ProviderModel:
    metadata: dict[str, Any] = {}
    if kind is ModelType.embedding and (dimension := EMBEDDING_DIMENSIONS.get(base_model_id(model_id))):
        metadata["embedding_dimension"] = dimension
    return ProviderModel(provider_model_id=model_id, model_type=kind, metadata=metadata)
