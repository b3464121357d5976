"""What the IT company publishes to its client sites from the public schema.

- `GlobalArticle`: a knowledge-base article shown on every site (one row, never copied into the
  sites' schemas); the sites' own articles are `tenant_apps.knowledge.Article`.
- `Announcement`: a banner (maintenance, outage) for one site, several or all, during a window;
  each person can dismiss it (`AnnouncementDismissal`).
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone


class Visibility(models.TextChoices):
    REQUESTERS = "requesters", "Everyone on the site"
    ENGINEERS = "engineers", "Engineers only"


class ArticleStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    DRAFT = "draft", "Draft"


class GlobalArticle(models.Model):
    """Shown on every client site. Never deleted (tickets may link to it): unpublish instead."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    body = models.TextField(help_text="Sanitized HTML.")
    body_text = models.TextField(blank=True, editable=False, help_text="Plain text of the body (search, AI).")
    # Categories live in each site's schema; the default slugs are the same everywhere.
    category_slug = models.SlugField(max_length=50, blank=True)
    visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.REQUESTERS)
    status = models.CharField(max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["title"]
        indexes = [GinIndex(fields=["search_vector"], name="global_article_search_gin")]

    def __str__(self) -> str:
        return self.title


class GlobalArticleVote(models.Model):
    """ "Was this helpful?" on a global article: one per person, changeable; `client` is the site
    they read it on."""

    article = models.ForeignKey(GlobalArticle, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="global_article_one_vote_per_user")]

    def __str__(self) -> str:
        return f"{'yes' if self.helpful else 'no'} on {self.article_id} by {self.user_id}"


class Announcement(models.Model):
    class Severity(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Sanitized HTML.")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    all_sites = models.BooleanField(default=False)
    sites = models.ManyToManyField("tenancy.Client", blank=True, related_name="announcements")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["ends_at"], name="announcement_ends")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="announcement_window")
        ]

    def __str__(self) -> str:
        return self.title

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if now < self.starts_at:
            return "scheduled"
        return "current" if now < self.ends_at else "ended"


class AnnouncementDismissal(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="announcement_one_dismissal_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} dismissed by {self.user_id}"
