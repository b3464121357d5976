"""Full-text search shared by the sites' articles and the global ones (PostgreSQL, `english`).

Two kinds of query: `search_query` for the search box (websearch syntax: every word must match,
"quoted phrases", -exclusions) and `any_words_query` for suggestions and related articles, where
a ticket's subject should find an article that shares some of its words, best matches first.
"""

import html
import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Value

from tenant_apps.tickets.richtext import plain_text

CONFIG = "english"
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
MAX_WORDS = 12
# Words people type in a ticket's subject that say nothing about the topic ("my VPN keeps
# dropping": "keeps" would otherwise match "Keep your laptop up to date"). PostgreSQL's own
# English stop words (my, the, is, ...) are dropped by to_tsquery already.
NOISE_WORDS = frozenset(
    """
    keep keeps kept keeping work works working worked not doesn don didn isn won wont can cannot cant
    could would should help need needs issue issues problem problems please get gets getting got since
    still again anymore today yesterday morning afternoon now anything something everything hi hello
    thanks thank urgent asap when what how why where who which there any every some also just like
    """.split()
)


def article_vector(title: str, body_text: str):
    """Title weighs more (A) than the body (B)."""
    return SearchVector(Value(title), weight="A", config=CONFIG) + SearchVector(
        Value(body_text[:200_000]), weight="B", config=CONFIG
    )


def body_plain_text(body_html: str) -> str:
    """The body as real plain text (richtext.plain_text leaves entities such as &amp; escaped)."""
    text = plain_text(re.sub(r"</(p|li|h[2-4]|blockquote|pre|tr)>|<br\s*/?>", r"\g<0>\n", body_html))
    return re.sub(r"[ \t]+", " ", html.unescape(text)).strip()


def search_query(text: str) -> SearchQuery | None:
    text = text.strip()[:200]
    return SearchQuery(text, search_type="websearch", config=CONFIG) if text else None


def any_words_query(text: str, *, max_words: int = MAX_WORDS) -> SearchQuery | None:
    """Words of `text` joined with OR, each as a prefix of a word (so "print" finds "printer").
    None when there are no words. Only letters and digits reach to_tsquery, so nothing a user
    types can break its syntax."""
    words = [word.lower() for word in _WORD.findall(text[: max_words * 40])]
    words = list(dict.fromkeys(word for word in words if word not in NOISE_WORDS))[:max_words]
    if not words:
        return None
    # Longer words also match as prefixes ("print" finds "printer"); short ones must match whole.
    terms = (f"{word}:*" if len(word) >= 4 else word for word in words)
    return SearchQuery(" | ".join(terms), search_type="raw", config=CONFIG)
