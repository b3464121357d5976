"""Reads of what the IT company publishes (root domain pages and the sites' banners).

Who manages what: platform admins every global article and every announcement; engineers every
global article (they write the knowledge) and the announcements whose sites they all cover (an
engineer covering only Acme never edits a notice meant for Globex too; "all sites" needs an
engineer who covers all sites). Engineers see, read-only, the others that show on a site they
cover (an "all sites" notice shows on Acme), without the names of the sites they do not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from shared_apps.engineers.models import EngineerProfile
from shared_apps.publishing.models import Announcement, GlobalArticle
from shared_apps.tenancy.models import Client
from shared_apps.tenancy.selectors import ROLE_ENGINEER, ROLE_PLATFORM, client_sites_queryset

PUBLISHERS = (ROLE_PLATFORM, ROLE_ENGINEER)
# The banners' source: every announcement that has not ended, in the default (global) cache,
# dropped whenever one is written; settings.ANNOUNCEMENT_CACHE_SECONDS bounds how stale it can be
# in a process that does not share the cache.
BANNER_CACHE_KEY = "publishing:announcements:v1"


def global_article_list_for(*, role: str | None, query: str = "") -> QuerySet[GlobalArticle]:
    if role not in PUBLISHERS:
        return GlobalArticle.objects.none()
    articles = GlobalArticle.objects.select_related("author").annotate(
        helpful=Count("votes", filter=Q(votes__helpful=True)), unhelpful=Count("votes", filter=Q(votes__helpful=False))
    )
    if query.strip():
        articles = articles.filter(Q(title__icontains=query.strip()) | Q(slug__icontains=query.strip()))
    return articles.order_by("-updated_at")


def global_article_get_for_publisher(*, role: str | None, slug: str) -> GlobalArticle:
    article = GlobalArticle.objects.filter(slug=slug).first() if role in PUBLISHERS else None
    if article is None:
        raise Http404("No such article")
    return article


# --- announcements ----------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Which sites a publisher may address."""

    all_sites: bool  # may address every site (and the "all sites" flag)
    sites: QuerySet[Client]


def announcement_targets_for(*, user, role: str | None) -> Targets:
    if role == ROLE_PLATFORM:
        return Targets(all_sites=True, sites=client_sites_queryset())
    profile = EngineerProfile.objects.filter(user=user, is_active=True).first() if role == ROLE_ENGINEER else None
    if profile is None:
        return Targets(all_sites=False, sites=Client.objects.none())
    if profile.covers_all_sites:
        return Targets(all_sites=True, sites=client_sites_queryset())
    return Targets(all_sites=False, sites=client_sites_queryset().filter(engineers=profile))


def _managed_by(targets: Targets) -> QuerySet[Announcement]:
    """The announcements a publisher may edit and end: any, when they may address every site;
    else those addressed only to sites they cover."""
    if targets.all_sites:
        return Announcement.objects.all()
    outside = client_sites_queryset().exclude(pk__in=targets.sites.values("pk"))
    mine = Announcement.objects.filter(all_sites=False, sites__isnull=False).exclude(sites__in=outside)
    return Announcement.objects.filter(pk__in=mine.values("pk"))


def announcement_list_for(*, user, role: str | None) -> QuerySet[Announcement]:
    """The announcements that reach the sites the user publishes to, newest first: all of them
    for platform admins and engineers covering every site; for other engineers the ones shown on
    a site they cover, "all sites" ones included.

    Each row carries `can_manage` (may edit and end it, `_managed_by`), `shown_sites` (the
    addressed sites the user covers), `other_sites` (how many more it addresses: counted, never
    named, so an engineer learns no other client's name) and `dismissed`. Two queries whatever
    the number."""
    targets = announcement_targets_for(user=user, role=role)
    if role not in PUBLISHERS:
        return Announcement.objects.none()
    if targets.all_sites:
        announcements = Announcement.objects.annotate(can_manage=Value(True), other_sites=Value(0))
        shown = Prefetch("sites", to_attr="shown_sites")
    else:
        covered = targets.sites.values("pk")
        reaching = Announcement.objects.filter(Q(all_sites=True) | Q(sites__in=covered)).values("pk")
        others = (
            Announcement.sites.through.objects.filter(announcement=OuterRef("pk"))
            .exclude(client__in=covered)
            .values("announcement")
            .annotate(n=Count("*"))
            .values("n")
        )
        announcements = (
            Announcement.objects.filter(pk__in=reaching)
            .annotate(other_sites=Coalesce(Subquery(others), 0))
            .annotate(can_manage=Case(When(all_sites=False, other_sites=0, then=Value(True)), default=Value(False)))
        )
        shown = Prefetch("sites", queryset=Client.objects.filter(pk__in=covered), to_attr="shown_sites")
    return (
        announcements.select_related("author")
        .prefetch_related(shown)
        .annotate(dismissed=Count("dismissals", distinct=True))
        .order_by("-starts_at", "-pk")
    )


def announcement_get_for(*, user, role: str | None, pk: int) -> Announcement:
    """An announcement the user may edit and end, else 404 (also for one they only see)."""
    if role not in PUBLISHERS:
        raise Http404("No such announcement")
    targets = announcement_targets_for(user=user, role=role)
    announcement = _managed_by(targets).filter(pk=pk).first()
    if announcement is None:
        raise Http404("No such announcement")
    return announcement


def _current_announcements() -> list[dict]:
    """Every announcement that has not ended (scheduled ones too): when and where it shows, from
    the cache (one query when it is cold, none when warm)."""
    rows = cache.get(BANNER_CACHE_KEY)
    if rows is None:
        rows = list(
            Announcement.objects.filter(ends_at__gt=timezone.now())
            .annotate(site_ids=ArrayAgg("sites__pk", default=[]))
            .values("pk", "starts_at", "ends_at", "all_sites", "site_ids")
        )
        cache.set(BANNER_CACHE_KEY, rows, settings.ANNOUNCEMENT_CACHE_SECONDS)
    return rows


def announcement_cache_drop() -> None:
    cache.delete(BANNER_CACHE_KEY)


@dataclass(frozen=True)
class Banner:
    pk: int
    title: str
    body: str
    severity: str
    ends_at: datetime

    @property
    def css(self) -> str:
        return {"critical": "danger", "warning": "warning"}.get(self.severity, "info")


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def banners_for(*, user, client, now: datetime | None = None) -> list[Banner]:
    """The announcements shown to `user` on `client` now: in their window, addressed to the site,
    not dismissed by them; most severe first.

    No query when the cache says nothing is announced here; otherwise one, which reads the
    candidates from the database again, so an announcement ended, edited or deleted since it was
    cached (in this process or another) is shown as it is now. Only a new announcement can wait
    for the cache to expire in a process that does not share it."""
    now = now or timezone.now()
    candidates = [
        row["pk"]
        for row in _current_announcements()
        if row["starts_at"] <= now < row["ends_at"] and (row["all_sites"] or client.pk in row["site_ids"])
    ]
    if not candidates or not user.is_authenticated:
        return []
    rows = (
        Announcement.objects.filter(pk__in=candidates, starts_at__lte=now, ends_at__gt=now)
        .filter(Q(all_sites=True) | Q(sites=client))
        .exclude(dismissals__user=user)
        .distinct()
        .values("pk", "title", "body", "severity", "ends_at")
    )
    banners = [Banner(**row) for row in rows]
    return sorted(banners, key=lambda banner: (SEVERITY_ORDER.get(banner.severity, 9), banner.ends_at))


def announcement_shown_on(*, client, pk: int, now: datetime | None = None) -> Announcement:
    """An announcement currently addressed to `client` (for dismissing it), else 404."""
    now = now or timezone.now()
    announcement = (
        Announcement.objects.filter(pk=pk, starts_at__lte=now, ends_at__gt=now)
        .filter(Q(all_sites=True) | Q(sites=client))
        .first()
    )
    if announcement is None:
        raise Http404("No such announcement")
    return announcement
