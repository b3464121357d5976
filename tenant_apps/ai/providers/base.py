"""The provider interface: our dataclasses and `ProviderError`, never an SDK object.

Every provider module (`openai_provider`, `gemini_provider`, `offline`) exposes a class with the
methods of `Provider`. Services build the inputs (`TicketText`, `Thread`, `KnowledgeSnippet`) from
the database; providers never touch the ORM except the offline one, which reads its own training
data and the site's resolved tickets through the helpers it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

CATEGORY_SLUGS = ("network", "hardware", "software", "access", "email", "security", "other")
PRIORITIES = ("low", "medium", "high", "urgent")


class ProviderError(Exception):
    """A provider failed. `retryable` is true for timeouts, 429 and 5xx."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class TicketText:
    """What a provider may see of a new ticket (already redacted when it leaves for a remote one)."""

    subject: str
    description: str  # plain text
    categories: tuple[str, ...] = CATEGORY_SLUGS  # the site's active category slugs


@dataclass(frozen=True)
class Categorization:
    category_slug: str
    priority: str
    confidence: float  # 0..1
    summary: str
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""
    raw: str = ""  # the provider's raw output, stored for audit


@dataclass(frozen=True)
class ImagePart:
    mime_type: str
    data: bytes
    name: str = ""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, oldest first in `Thread.turns`."""

    role: str  # "requester" | "engineer" | "assistant"
    author: str
    text: str  # plain text
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True)
class KnowledgeSnippet:
    title: str
    text: str  # plain text
    url: str = ""
    source: str = "article"  # "article" | "ticket"


@dataclass(frozen=True)
class Thread:
    subject: str
    turns: tuple[Turn, ...]
    category: str = ""
    site_name: str = ""


@dataclass(frozen=True)
class Draft:
    text: str  # plain text or light markdown; services sanitize before storing
    sources: tuple[KnowledgeSnippet, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""


@dataclass
class DraftStream:
    """Chunks as the model produces them; `result` is filled when the iterator is exhausted."""

    chunks: Iterator[str]
    result: Draft | None = field(default=None)


class Provider(Protocol):
    name: str
    model: str

    def categorize(self, ticket: TicketText) -> Categorization: ...

    def draft_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft: ...

    def assistant_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft: ...

    def stream_draft(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> Iterator[str]:
        """Yield text chunks; the concatenation equals the final draft's text."""
        ...
