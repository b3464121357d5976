"""PLACEHOLDER until the offline-model branch lands (keyword rules). Replaced by the trained model."""

import time
from collections.abc import Iterator

from django.conf import settings

from tenant_apps.ai.providers.base import Categorization, Draft, TicketText

KEYWORDS = {
    "network": ("wifi", "wi-fi", "vpn", "network", "internet", "router"),
    "hardware": ("printer", "laptop", "monitor", "keyboard", "screen"),
    "email": ("outlook", "email", "mailbox", "mail"),
    "access": ("password", "login", "locked", "access", "account"),
    "security": ("phishing", "virus", "ransomware", "suspicious"),
    "software": ("excel", "install", "licence", "license", "crash", "update"),
}


class OfflineProvider:
    name = "offline"

    def __init__(self, *, model: str = "", examples=(), **_):
        self.model = model or "offline-keywords"

    def categorize(self, ticket: TicketText) -> Categorization:
        text = f"{ticket.subject} {ticket.description}".lower()
        scores = {slug: sum(word in text for word in words) for slug, words in KEYWORDS.items()}
        slug = max(scores, key=lambda key: scores[key]) if any(scores.values()) else "other"
        if slug not in ticket.categories:
            slug = "other" if "other" in ticket.categories else ticket.categories[0]
        priority = "urgent" if "down" in text or "everyone" in text else "medium"
        return Categorization(slug, priority, 0.6, ticket.subject[:120], model=self.model)

    def draft_reply(self, thread, kb) -> Draft:
        return Draft(text=self._text(thread, kb), sources=tuple(kb[:2]), model=self.model)

    assistant_reply = draft_reply

    def _text(self, thread, kb) -> str:
        name = thread.turns[0].author.split()[0] if thread.turns and thread.turns[0].author else "there"
        lines = [f"Hello {name},", "", f"Thanks for your message about “{thread.subject}”."]
        if kb:
            lines += ["", f"This article should help: {kb[0].title}.", kb[0].text[:400]]
        lines += ["", "Does that solve it?"]
        return "\n".join(lines)

    def stream_draft(self, thread, kb, *, for_requester: bool) -> Iterator[str]:
        delay = getattr(settings, "AI_OFFLINE_STREAM_DELAY", 0)
        for word in self._text(thread, kb).split(" "):
            if delay:
                time.sleep(delay)
            yield word + " "
