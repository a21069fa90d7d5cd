"""The run config (YAML, `version: 2`) as pydantic models. Unknown keys are errors, so a typo
never silently does nothing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ogx_api import Api
from ogx_api.inference import ModelType
from ogx_api.tools import McpEndpoint
from ogx_api.url_policy import UrlPolicy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderConfig(_Strict):
    """One provider instance. A `provider_id` that resolves empty disables the entry."""

    provider_id: str | None = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    provider_type: str = Field(pattern=r"^(remote|inline)::[a-z0-9][a-z0-9_.-]*$")
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _null_config_is_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("config", {}) is None:
            return {**data, "config": {}}
        return data


class ModelConfig(_Strict):
    """A model served by a provider. `model_id` is the id clients use; `aliases` are more."""

    model_id: str = Field(min_length=1)
    provider_id: str | None
    provider_model_id: str | None = None
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _embedding_models_have_a_dimension(self) -> ModelConfig:
        if self.model_type is ModelType.embedding:
            dimension = self.metadata.get("embedding_dimension")
            if not isinstance(dimension, int) or isinstance(dimension, bool) or dimension <= 0:
                raise ValueError("an embedding model needs metadata.embedding_dimension, a positive integer")
        return self

    @property
    def backend_model_id(self) -> str:
        return self.provider_model_id or self.model_id


class ToolGroupConfig(_Strict):
    """A tool group declared in the run config (the body of `POST /v1/toolgroups`): visible to
    every user, not deletable through the API. `args.headers` and `args.authorization` reach the
    MCP server."""

    toolgroup_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=256)
    provider_id: str | None
    mcp_endpoint: dict[str, Any] | None = None
    args: dict[str, Any] = Field(default_factory=dict)


class RegisteredResources(_Strict):
    models: list[ModelConfig] = Field(default_factory=list)
    tool_groups: list[ToolGroupConfig] = Field(default_factory=list)


class ConnectorConfig(_Strict):
    """An MCP server the deployment offers by id (`/v1beta/connectors`, and `connector_id` in a
    Responses `mcp` tool). Its URL is trusted: the outbound policy for request URLs does not
    apply to it. Credentials belong in `${env.X}`."""

    connector_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=256)
    url: str = Field(min_length=1)
    server_label: str | None = None
    description: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    authorization: SecretStr | None = None
    transport: Literal["auto", "streamable_http", "sse"] = "auto"

    @model_validator(mode="after")
    def _valid_endpoint(self) -> ConnectorConfig:
        self.endpoint()  # reserved headers are refused here, naming the connector's field
        return self

    def endpoint(self) -> McpEndpoint:
        return McpEndpoint(
            uri=self.url, headers=self.headers, authorization=self.authorization, transport=self.transport
        )


class StorageConfig(_Strict):
    """Where OGX keeps its state. `url` is a SQLAlchemy URL (`sqlite:///path.db`,
    `postgresql://user:pass@host/db`); by default an SQLite file in the data directory."""

    url: str | None = None
    pool_size: int = Field(default=10, ge=1)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    model_refresh_interval: float = Field(
        default=300.0, gt=0, description="seconds between refreshes of providers' model lists"
    )
    outbound: UrlPolicy = Field(
        default_factory=UrlPolicy,
        description="which URLs taken from requests (MCP servers of tool groups and Responses "
        "tools) the server may call; the default refuses loopback and private networks",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="the key that encrypts the credentials the server stores (32 bytes, URL-safe "
        "base64), e.g. `${env.OGX_SECRET_KEY}`; default: OGX_SECRET_KEY, else the file secret.key "
        "in the data directory, created on first start",
    )
    previous_secret_keys: list[SecretStr] = Field(
        default_factory=list,
        description="keys being replaced by secret_key: what they encrypted still opens, and "
        "stored credentials are re-encrypted with secret_key at start-up; default: "
        "OGX_PREVIOUS_SECRET_KEYS (comma-separated)",
    )


class BatchesConfig(_Strict):
    """The Batches API (`/v1/batches`)."""

    max_concurrency: int = Field(default=8, ge=1, description="requests of one batch run at once")
    max_requests: int = Field(default=50_000, ge=1, description="lines an input file may have")


class RunConfig(_Strict):
    version: Literal[2]
    name: str | None = Field(
        default=None, description="names the data directory; defaults to the file's stem"
    )
    providers: dict[Api, list[ProviderConfig]] = Field(default_factory=dict)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    registered_resources: RegisteredResources = Field(default_factory=RegisteredResources)
    server: ServerConfig = Field(default_factory=ServerConfig)
    connectors: list[ConnectorConfig] = Field(default_factory=list)
    batches: BatchesConfig = Field(default_factory=BatchesConfig)

    def enabled_providers(self) -> list[tuple[Api, ProviderConfig]]:
        return [(api, p) for api, entries in self.providers.items() for p in entries if p.provider_id]
