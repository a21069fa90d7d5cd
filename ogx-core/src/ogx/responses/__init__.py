"""The Responses API (`/v1/responses`): the server-side agentic loop over the inference router."""

from ogx.responses.service import ResponsesService
from ogx.responses.store import ResponseStore
from ogx.responses.tools import ToolServices

__all__ = ["ResponseStore", "ResponsesService", "ToolServices"]
