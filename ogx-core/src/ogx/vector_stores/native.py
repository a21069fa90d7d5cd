"""OGX's native vector-io calls on a vector store's index: insert pre-embedded chunks, query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ogx.vector_stores.embedding import embed
from ogx.vector_stores.models import VectorIOInsertRequest, VectorIOQueryRequest
from ogx_api import InvalidRequest
from ogx_api.vector_io import Chunk, VectorQuery

if TYPE_CHECKING:
    from ogx.vector_stores.service import VectorStoresService


async def insert(
    service: VectorStoresService, request: VectorIOInsertRequest, *, owner: str | None
) -> dict[str, Any]:
    store = await service.store(request.vector_store_id, owner)
    for index, chunk in enumerate(request.chunks):
        if len(chunk.embedding) != store.embedding_dimension:
            raise InvalidRequest(
                f"chunk {chunk.chunk_id!r} has an embedding of dimension {len(chunk.embedding)}; vector store "
                f"{store.id!r} holds vectors of dimension {store.embedding_dimension}",
                param=f"chunks[{index}].embedding",
                code="embedding_dimension_mismatch",
            )
    chunks = [Chunk(**chunk.model_dump()) for chunk in request.chunks]
    await service.provider(store).insert(store.id, chunks)
    await service.touch(store.id)
    return {"object": "vector_io.insert", "vector_store_id": store.id, "inserted": len(chunks)}


async def query(
    service: VectorStoresService, request: VectorIOQueryRequest, *, owner: str | None
) -> dict[str, Any]:
    store = await service.store(request.vector_store_id, owner)
    embedding = request.embedding
    if request.mode != "keyword":
        if embedding is None:
            if not request.text:
                raise InvalidRequest(f"a {request.mode} query needs `embedding` or `text`", param="embedding")
            embedding = (await embed(service.inference, store.embedding_model, [request.text]))[0]
        if len(embedding) != store.embedding_dimension:
            raise InvalidRequest(
                f"the query embedding has dimension {len(embedding)}; vector store {store.id!r} holds "
                f"vectors of dimension {store.embedding_dimension}",
                param="embedding",
                code="embedding_dimension_mismatch",
            )
    if request.mode != "vector" and not request.text:
        raise InvalidRequest(f"a {request.mode} query needs `text`", param="text")
    fields = request.model_dump(exclude={"vector_store_id", "embedding", "ranker"}, exclude_none=True)
    if request.ranker is not None:
        fields["ranker"] = request.ranker
    hits = await service.provider(store).query(store.id, VectorQuery(**fields, embedding=embedding))
    data = [{"chunk": hit.chunk.model_dump(exclude={"embedding"}), "score": hit.score} for hit in hits]
    return {"object": "list", "data": data}
