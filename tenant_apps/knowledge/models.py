"""A site's own knowledge base (its schema). Articles the IT company publishes to every site live
once in the public schema (`shared_apps.publishing.GlobalArticle`) and are read from there.

Visibility is the invariant: an engineers-only article, or any draft, never reaches a client user
(selectors.py is the only way to read articles, and it takes the reader's role).
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from shared_apps.publishing.models import ArticleStatus, Visibility


def _user_fk(**kwargs):
    # No database constraint to the public user table (DESIGN section 3).
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, **kwargs)


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    body = models.TextField(help_text="Sanitized HTML.")
    body_text = models.TextField(blank=True, editable=False, help_text="Plain text of the body (search, AI).")
    category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.REQUESTERS)
    status = models.CharField(max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    author = _user_fk(related_name="+")
    source_ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The resolved ticket this article was drafted from.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["title"]
        indexes = [
            GinIndex(fields=["search_vector"], name="article_search_gin"),
            models.Index(fields=["status", "visibility", "-updated_at"], name="article_visible_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED

    @property
    def for_requesters(self) -> bool:
        return self.is_published and self.visibility == Visibility.REQUESTERS


class ArticleVote(models.Model):
    """ "Was this helpful?": one per person and article, changeable."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = _user_fk(related_name="+")
    helpful = models.BooleanField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="article_one_vote_per_user")]

    def __str__(self) -> str:
        return f"{'yes' if self.helpful else 'no'} on {self.article_id} by {self.user_id}"


class TicketArticleLink(models.Model):
    """An engineer pointed a ticket at an article (this site's or a global one). The requester
    sees the link only while the article is published and visible to requesters."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="article_links")
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.CASCADE, related_name="ticket_links")
    # Global articles are never deleted (only unpublished), and a tenant table gets no database
    # constraint to a public one (DESIGN section 3).
    global_article = models.ForeignKey(
        "publishing.GlobalArticle", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    linked_by = _user_fk(related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(article__isnull=True) ^ models.Q(global_article__isnull=True),
                name="ticket_link_one_article",
            ),
            models.UniqueConstraint(
                fields=["ticket", "article"], condition=models.Q(article__isnull=False), name="ticket_link_unique_site"
            ),
            models.UniqueConstraint(
                fields=["ticket", "global_article"],
                condition=models.Q(global_article__isnull=False),
                name="ticket_link_unique_global",
            ),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} -> {self.article_id or f'global {self.global_article_id}'}"
