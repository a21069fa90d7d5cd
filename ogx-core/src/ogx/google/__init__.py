"""The Google Interactions API (`/v1beta/interactions`, also at `/v1alpha`), translated to and from the internal
OpenAI-shaped chat call."""

from ogx.google.errors import google_envelope
from ogx.google.service import InteractionsService
from ogx.google.store import InteractionStore

__all__ = ["InteractionStore", "InteractionsService", "google_envelope"]
