"""OpenAI models endpoints. Model ids may contain `/` (`vllm/gemma3-270m`)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ogx.server.body import response_schema
from ogx.server.errors import json_response
from ogx.server.services import services
from ogx_api.inference import ModelList, OpenAIModel

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", responses=response_schema("ModelList", ModelList), summary="List models")
async def list_models(request: Request) -> Response:
    models = services(request).models.list()
    return json_response({"object": "list", "data": [m.as_openai() for m in models]})


@router.get(
    "/models/{model_id:path}", responses=response_schema("Model", OpenAIModel), summary="Retrieve a model"
)
async def retrieve_model(request: Request, model_id: str) -> Response:
    return json_response(services(request).models.resolve(model_id).as_openai())
