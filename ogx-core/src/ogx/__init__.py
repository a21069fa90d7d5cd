"""OGX: an AI application server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ogx")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0"
