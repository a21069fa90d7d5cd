"""Configuration of the `remote::bedrock` provider."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

BEARER_TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"


def _region_from_env() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


class BedrockConfig(BaseModel):
    """Where Bedrock is and how to authenticate to it.

    Credentials, in order of precedence:

    1. `api_key` — a Bedrock API key, sent as `Authorization: Bearer …` (default: env
       `AWS_BEARER_TOKEN_BEDROCK`, unless access keys or a profile are configured here);
    2. `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`);
    3. `profile_name` — a profile of `~/.aws/config` / `~/.aws/credentials`;
    4. otherwise botocore's standard chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
       `AWS_SESSION_TOKEN`, `AWS_PROFILE`, SSO, web identity, container and instance roles.
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        default_factory=_region_from_env,
        description="AWS region, e.g. `us-east-1`. Default: env `AWS_REGION`, else `AWS_DEFAULT_REGION`, "
        "else the profile's region, else `us-east-1`.",
    )
    aws_access_key_id: str | None = Field(default=None, description="Explicit access key id.")
    aws_secret_access_key: SecretStr | None = Field(default=None, description="Explicit secret access key.")
    aws_session_token: SecretStr | None = Field(
        default=None, description="Session token of temporary credentials (with the explicit keys)."
    )
    profile_name: str | None = Field(default=None, description="Named profile of the AWS config files.")
    api_key: SecretStr | None = Field(
        default=None,
        description="A Bedrock API key (bearer token). Default: env `AWS_BEARER_TOKEN_BEDROCK` when "
        "neither explicit keys nor a profile are configured.",
    )
    endpoint_url: str | None = Field(
        default=None,
        description="Bedrock Runtime endpoint (a VPC endpoint, a proxy, a test server). "
        "Default: the region's public endpoint.",
    )
    control_plane_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of the `bedrock` control plane (model listing). Default: the region's "
        "public endpoint.",
    )
    connect_timeout: float = Field(
        default=5.0, gt=0, allow_inf_nan=False, description="Seconds to connect; exceeding it is a 503."
    )
    read_timeout: float = Field(
        default=300.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds to wait for the answer or the next streamed event; exceeding it is a 504.",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Total attempts of one call, first included (botocore's standard retry mode: "
        "throttling and transient errors are retried with backoff). 1 disables retries.",
    )
    max_concurrency: int = Field(
        default=64,
        ge=1,
        le=1024,
        description="Most concurrent Bedrock calls (worker threads and pooled connections).",
    )
    check_model_access: bool = Field(
        default=True,
        description="List only models the account may invoke (GetFoundationModelAvailability per "
        "model); a model whose access cannot be checked is listed.",
    )

    @field_validator("endpoint_url", "control_plane_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an http:// or https:// URL such as https://bedrock-runtime.us-east-1.amazonaws.com"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials(self) -> BedrockConfig:
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("aws_access_key_id and aws_secret_access_key must be given together")
        if self.aws_session_token is not None and self.aws_access_key_id is None:
            raise ValueError("aws_session_token needs aws_access_key_id and aws_secret_access_key")
        explicit = self.aws_access_key_id is not None or self.profile_name is not None
        if self.api_key is None and not explicit and (token := os.environ.get(BEARER_TOKEN_ENV)):
            self.api_key = SecretStr(token)
        if self.api_key is not None:
            for url in (self.endpoint_url, self.control_plane_endpoint_url):
                if url is not None and not safe_for_bearer(url):
                    raise ValueError(
                        f"api_key is sent in clear text over {url}: use an https:// endpoint "
                        "(plain http is allowed to loopback addresses only)"
                    )
        return self

    @property
    def uses_api_key(self) -> bool:
        return self.api_key is not None


def safe_for_bearer(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BedrockProviderData(BaseModel):
    """This provider's part of the `X-OGX-Provider-Data` request header: credentials for one
    request, used instead of the configured ones (for the Bedrock Runtime calls: chat,
    completions, embeddings; model listing keeps the configured credentials)."""

    model_config = ConfigDict(extra="ignore")  # the header carries other providers' fields too

    aws_access_key_id: str | None = Field(default=None, description="Access key id for this request.")
    aws_secret_access_key: SecretStr | None = Field(default=None, description="Its secret access key.")
    aws_session_token: SecretStr | None = Field(default=None, description="Session token (temporary keys).")
    bedrock_api_key: SecretStr | None = Field(
        default=None, description="A Bedrock API key (bearer token) for this request."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> BedrockProviderData:
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("aws_access_key_id and aws_secret_access_key must be given together")
        if self.aws_session_token is not None and self.aws_access_key_id is None:
            raise ValueError("aws_session_token needs aws_access_key_id and aws_secret_access_key")
        if self.bedrock_api_key is not None and self.aws_access_key_id is not None:
            raise ValueError("give either bedrock_api_key or AWS access keys, not both")
        return self

    @property
    def has_credentials(self) -> bool:
        return self.bedrock_api_key is not None or self.aws_access_key_id is not None
