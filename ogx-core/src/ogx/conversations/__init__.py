"""The OpenAI Conversations API: conversations and their items, stored per owner."""

from ogx.conversations.service import MAX_ITEMS_PER_REQUEST, ConversationsService

__all__ = ["MAX_ITEMS_PER_REQUEST", "ConversationsService"]
