"""Run configuration: YAML with `${env.X}` substitution, validated into `RunConfig`."""

from ogx.config.errors import ConfigError
from ogx.config.loader import load_run_config, parse_run_config
from ogx.config.schema import ModelConfig, ProviderConfig, RunConfig, ServerConfig, StorageConfig

__all__ = [
    "ConfigError",
    "ModelConfig",
    "ProviderConfig",
    "RunConfig",
    "ServerConfig",
    "StorageConfig",
    "load_run_config",
    "parse_run_config",
]
