"""Request bodies (pydantic, parsed once) and response shapes (TypedDicts, for the OpenAPI
document) of the vector stores API, as OpenAI's spec describes them, plus OGX's extensions
(`embedding_model`, `embedding_dimension`, `provider_id`, `search_mode`, `hybrid_ranker`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from ogx.deferred import DeferredModel
from ogx.file_processing import ChunkingStrategy
from ogx_api.metadata import MAX_KEY_LENGTH, MAX_PAIRS, MAX_VALUE_LENGTH, Metadata
from ogx_api.vector_io import AttributeValue, ComparisonFilter, CompoundFilter, HybridRanker


def _check_attributes(value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
    if len(value) > MAX_PAIRS:
        raise ValueError(f"at most {MAX_PAIRS} attributes, got {len(value)}")
    for key, item in value.items():
        if len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"attribute keys are at most {MAX_KEY_LENGTH} characters")
        if isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
            raise ValueError(
                f"string attribute values are at most {MAX_VALUE_LENGTH} characters (key {key!r})"
            )
    return value


Attributes = Annotated[dict[str, str | bool | float], AfterValidator(_check_attributes)]
Filter = Annotated[ComparisonFilter | CompoundFilter, Field(union_mode="left_to_right")]


class _Body(DeferredModel):
    model_config = ConfigDict(extra="forbid")


class ExpiresAfter(_Body):
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class CreateVectorStoreRequest(_Body):
    name: str | None = None
    description: str | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None
    embedding_model: str | None = Field(
        default=None, description="OGX: the embedding model (default: the first one served)"
    )
    embedding_dimension: int | None = Field(default=None, ge=1, description="OGX: must match the model's")
    provider_id: str | None = Field(default=None, description="OGX: the vector_io provider holding the index")


class UpdateVectorStoreRequest(_Body):
    name: str | None = None
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None


class CreateVectorStoreFileRequest(_Body):
    file_id: str = Field(min_length=1)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateVectorStoreFileAttributesRequest(_Body):
    attributes: Attributes | None


class CreateVectorStoreFileBatchRequest(_Body):
    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=2000)
    files: list[CreateVectorStoreFileRequest] | None = Field(default=None, min_length=1, max_length=2000)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CreateVectorStoreFileBatchRequest:
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("give exactly one of file_ids and files")
        return self

    def entries(self) -> list[CreateVectorStoreFileRequest]:
        if self.files is not None:
            return self.files
        return [
            CreateVectorStoreFileRequest(
                file_id=file_id, attributes=self.attributes, chunking_strategy=self.chunking_strategy
            )
            for file_id in self.file_ids or []
        ]


class RankingOptions(_Body):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class VectorStoreSearchRequest(_Body):
    query: str | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    filters: Filter | None = None
    max_num_results: int = Field(default=10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    search_mode: Literal["vector", "keyword", "hybrid"] | None = Field(
        default=None, description="OGX: vector (the default), keyword (full-text) or hybrid"
    )
    hybrid_ranker: HybridRanker | None = Field(
        default=None, description="OGX: how hybrid search fuses its lists"
    )


class InsertChunk(_Body):
    chunk_id: str = Field(min_length=1)
    content: str
    embedding: list[float] = Field(min_length=1)
    file_id: str | None = None
    attributes: Attributes = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class VectorIOInsertRequest(_Body):
    """OGX: pre-embedded chunks into a vector store's index."""

    vector_store_id: str
    chunks: list[InsertChunk] = Field(min_length=1, max_length=10_000)


class VectorIOQueryRequest(_Body):
    """OGX: query a vector store's index; `embedding` is computed from `text` with the store's
    model when a vector or hybrid query leaves it out."""

    vector_store_id: str
    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    embedding: list[float] | None = None
    text: str | None = None
    k: int = Field(default=10, ge=1, le=1000)
    filters: Filter | None = None
    score_threshold: float | None = None
    ranker: HybridRanker | None = None


# -- responses ---------------------------------------------------------------------------------


class FileCounts(TypedDict):
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int


class ExpiresAfterObject(TypedDict):
    anchor: Literal["last_active_at"]
    days: int


class VectorStoreObject(TypedDict):
    id: str
    object: Literal["vector_store"]
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: NotRequired[ExpiresAfterObject]
    expires_at: int | None
    last_active_at: int | None
    metadata: dict[str, str] | None


class LastError(TypedDict):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class StaticChunkingObject(TypedDict):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class StaticChunkingStrategyObject(TypedDict):
    type: Literal["static"]
    static: StaticChunkingObject


class OtherChunkingStrategyObject(TypedDict):
    """Not sent by OGX (every file records its sizes); in the spec for files indexed before
    chunking strategies existed."""

    type: Literal["other"]


class VectorStoreFileObject(TypedDict):
    id: str
    object: Literal["vector_store.file"]
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    last_error: LastError | None
    chunking_strategy: StaticChunkingStrategyObject | OtherChunkingStrategyObject
    attributes: dict[str, str | float | bool] | None


class VectorStoreFileBatchObject(TypedDict):
    id: str
    object: Literal["vector_store.files_batch"]
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    file_counts: FileCounts


class _List(TypedDict):
    object: Literal["list"]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ListVectorStoresResponse(_List):
    data: list[VectorStoreObject]


class ListVectorStoreFilesResponse(_List):
    data: list[VectorStoreFileObject]


class _Deleted(TypedDict):
    id: str
    deleted: bool


class DeleteVectorStoreResponse(_Deleted):
    object: Literal["vector_store.deleted"]


class DeleteVectorStoreFileResponse(_Deleted):
    object: Literal["vector_store.file.deleted"]


class TextContent(TypedDict):
    type: Literal["text"]
    text: str


class VectorStoreFileContentResponse(TypedDict):
    object: Literal["vector_store.file_content.page"]
    data: list[TextContent]
    has_more: bool
    next_page: str | None


class VectorStoreSearchResultItem(TypedDict):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, str | float | bool] | None
    content: list[TextContent]


class VectorStoreSearchResultsPage(TypedDict):
    object: Literal["vector_store.search_results.page"]
    search_query: list[str]
    data: list[VectorStoreSearchResultItem]
    has_more: bool
    next_page: str | None
