"""Writes of what the IT company publishes: global articles and announcements (public schema).

Global articles: platform admins and engineers write them on the root domain; one row serves
every site. Announcements: platform admins address any site or all; an engineer only the sites
they cover (all sites only when they cover all). Every write drops the banners' cache after
commit, so a site shows the change on its next page.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.publishing.articles import clean_article_body, unique_slug
from shared_apps.publishing.models import Announcement, AnnouncementDismissal, ArticleStatus, GlobalArticle, Visibility
from shared_apps.publishing.search import article_vector
from shared_apps.publishing.selectors import PUBLISHERS, announcement_cache_drop, announcement_targets_for
from tenant_apps.tickets.models import DEFAULT_CATEGORIES
from tenant_apps.tickets.richtext import MAX_LENGTH, sanitize_html

CATEGORY_SLUGS = {slug for slug, _ in DEFAULT_CATEGORIES}
MAX_WINDOW_DAYS = 366


def _banners_changed() -> None:
    # Now, and again after commit: a page rendered in between may have cached the old rows.
    announcement_cache_drop()
    transaction.on_commit(announcement_cache_drop)


def _check_publisher(role: str | None) -> None:
    if role not in PUBLISHERS:
        raise PermissionDenied("Only platform admins and engineers publish to the sites.")


def _article_fields(*, title: str, body: str, category_slug: str, visibility: str, status: str) -> dict:
    title = " ".join((title or "").split())[:200]
    if not title:
        raise ValidationError({"title": ["Give the article a title."]})
    if category_slug and category_slug not in CATEGORY_SLUGS:
        raise ValidationError({"category_slug": ["Choose one of the default categories."]})
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": ["Choose who can read the article."]})
    if status not in ArticleStatus.values:
        raise ValidationError({"status": ["Choose draft or published."]})
    html, text = clean_article_body(body)
    return {
        "title": title,
        "body": html,
        "body_text": text,
        "category_slug": category_slug,
        "visibility": visibility,
        "status": status,
    }


@transaction.atomic
def global_article_create(
    *, actor, role: str | None, title: str, body: str, category_slug: str = "", visibility: str, status: str
) -> GlobalArticle:
    _check_publisher(role)
    fields = _article_fields(title=title, body=body, category_slug=category_slug, visibility=visibility, status=status)
    slug = unique_slug(fields["title"], taken=lambda s: GlobalArticle.objects.filter(slug=s).exists())
    article = GlobalArticle.objects.create(slug=slug, author=actor, **fields)
    GlobalArticle.objects.filter(pk=article.pk).update(search_vector=article_vector(article.title, article.body_text))
    return article


@transaction.atomic
def global_article_update(
    *,
    article: GlobalArticle,
    actor,
    role: str | None,
    title: str,
    body: str,
    category_slug: str = "",
    visibility: str,
    status: str,
) -> GlobalArticle:
    """Unpublishing (status draft) takes it off every site at once; the slug never changes."""
    _check_publisher(role)
    fields = _article_fields(title=title, body=body, category_slug=category_slug, visibility=visibility, status=status)
    for name, value in fields.items():
        setattr(article, name, value)
    article.updated_at = timezone.now()
    article.save()
    GlobalArticle.objects.filter(pk=article.pk).update(search_vector=article_vector(article.title, article.body_text))
    return article


# --- announcements ----------------------------------------------------------------------


def _announcement_fields(*, user, role, title, body, severity, starts_at, ends_at, all_sites, sites) -> dict:
    _check_publisher(role)
    title = " ".join((title or "").split())[:200]
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["Give the announcement a title."]
    if severity not in Announcement.Severity.values:
        errors["severity"] = ["Choose a severity."]
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = ["The end must come after the start."]
    elif starts_at and ends_at and (ends_at - starts_at).days > MAX_WINDOW_DAYS:
        errors["ends_at"] = [f"An announcement runs for at most {MAX_WINDOW_DAYS} days."]
    body = sanitize_html(body or "")
    if len(body) > MAX_LENGTH:
        errors["body"] = [f"This is too long ({len(body):,} characters; at most {MAX_LENGTH:,})."]
    targets = announcement_targets_for(user=user, role=role)
    sites = list(sites)
    if all_sites and not targets.all_sites:
        errors["all_sites"] = ["You can only address the sites you cover."]
    elif not all_sites and not sites:
        errors["sites"] = ["Choose at least one site, or all sites."]
    elif sites:
        allowed = set(targets.sites.filter(pk__in=[site.pk for site in sites]).values_list("pk", flat=True))
        if any(site.pk not in allowed for site in sites):
            errors["sites"] = ["You can only address the sites you cover."]
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "body": body,
        "severity": severity,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "all_sites": bool(all_sites),
        "sites": [] if all_sites else sites,
    }


@transaction.atomic
def announcement_create(
    *,
    actor,
    role: str | None,
    title: str,
    body: str = "",
    severity: str = Announcement.Severity.INFO,
    starts_at: datetime | None = None,
    ends_at: datetime,
    all_sites: bool = False,
    sites=(),
) -> Announcement:
    fields = _announcement_fields(
        user=actor, role=role, title=title, body=body, severity=severity,
        starts_at=starts_at or timezone.now(), ends_at=ends_at, all_sites=all_sites, sites=sites,
    )  # fmt: skip
    sites = fields.pop("sites")
    announcement = Announcement.objects.create(author=actor, **fields)
    announcement.sites.set(sites)
    _banners_changed()
    return announcement


@transaction.atomic
def announcement_update(
    *,
    announcement: Announcement,
    actor,
    role: str | None,
    title: str,
    body: str,
    severity: str,
    starts_at: datetime,
    ends_at: datetime,
    all_sites: bool,
    sites,
) -> Announcement:
    """The caller read `announcement` through `announcement_get_for`, so the actor may manage it;
    the new targets are checked again here."""
    fields = _announcement_fields(
        user=actor, role=role, title=title, body=body, severity=severity,
        starts_at=starts_at, ends_at=ends_at, all_sites=all_sites, sites=sites,
    )  # fmt: skip
    sites = fields.pop("sites")
    for name, value in fields.items():
        setattr(announcement, name, value)
    announcement.updated_at = timezone.now()
    announcement.save()
    announcement.sites.set(sites)
    _banners_changed()
    return announcement


@transaction.atomic
def announcement_end(*, announcement: Announcement, actor, role: str | None) -> Announcement:
    """End it now (a scheduled one is ended before it starts: its window becomes empty)."""
    _check_publisher(role)
    now = timezone.now()
    if announcement.ends_at > now:
        announcement.ends_at = now
        if announcement.starts_at >= now:  # still scheduled; the window must stay start < end
            announcement.starts_at = now - timedelta(microseconds=1)
        announcement.updated_at = now
        announcement.save(update_fields=["starts_at", "ends_at", "updated_at"])
    _banners_changed()
    return announcement


def announcement_dismiss(*, announcement: Announcement, user) -> None:
    """Idempotent: dismissing twice (two tabs) is fine."""
    try:
        with transaction.atomic():
            AnnouncementDismissal.objects.get_or_create(announcement=announcement, user=user)
    except IntegrityError:
        pass
