"""What site articles and global articles share: a sanitized body with its plain text, and a
readable slug that never collides with the knowledge base's own URLs."""

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from shared_apps.publishing.search import body_plain_text
from tenant_apps.tickets.richtext import MAX_LENGTH, sanitize_html

# Words the knowledge base's own URLs use after /kb/.
RESERVED_SLUGS = {"new", "suggest", "global", "search"}


def clean_article_body(html: str, *, field: str = "body") -> tuple[str, str]:
    """(sanitized HTML, its plain text); refuses an empty or oversized body."""
    body = sanitize_html(html or "")
    text = body_plain_text(body)
    if not text:
        raise ValidationError({field: ["Write something first."]})
    if len(body) > MAX_LENGTH:
        raise ValidationError({field: [f"This is too long ({len(body):,} characters; at most {MAX_LENGTH:,})."]})
    return body, text


def unique_slug(title: str, *, taken, reserved=RESERVED_SLUGS, max_length: int = 80) -> str:
    """A slug from the title, made unique with -2, -3, … (`taken(slug)` says whether it is used)."""
    base = slugify(title)[: max_length - 4].strip("-") or "article"
    slug, n = base, 1
    while slug in reserved or taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug
