"""Cross-site reads of ratings (public schema only: one query each, whatever the number of sites)."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.feedback.csat import CSAT_AGGREGATES, Csat
from shared_apps.feedback.models import ReviewIndex, ServiceReview

WINDOW_DAYS = 365


def _recent() -> QuerySet[ReviewIndex]:
    return ReviewIndex.objects.filter(created_at__gte=timezone.now() - timedelta(days=WINDOW_DAYS))


def ratings_for_engineer(*, user) -> tuple[Csat, QuerySet[ReviewIndex]]:
    """An engineer's own ratings on every site (summary of the last year, and the rows)."""
    from shared_apps.engineers.selectors import engineer_covers

    if not engineer_covers(user=user, client=None):
        return Csat(0, 0), ReviewIndex.objects.none()
    rows = ReviewIndex.objects.filter(engineer=user)
    summary = Csat.of(
        rows.filter(created_at__gte=timezone.now() - timedelta(days=WINDOW_DAYS)).aggregate(**CSAT_AGGREGATES)
    )
    return summary, rows.select_related("client").order_by("-created_at")


def csat_per_site(*, user) -> list[tuple[dict, Csat]]:
    if not user.is_superuser:
        return []
    rows = _recent().values("client__name", "client__subdomain").annotate(**CSAT_AGGREGATES).order_by("client__name")
    return [(row, Csat.of(row)) for row in rows]


def csat_per_engineer(*, user) -> list[tuple[dict, Csat]]:
    if not user.is_superuser:
        return []
    rows = (
        _recent()
        .filter(engineer__isnull=False)
        .values("engineer_id", "engineer__full_name", "engineer__email")
        .annotate(**CSAT_AGGREGATES)
        .order_by("engineer__full_name", "engineer__email")
    )
    return [(row, Csat.of(row)) for row in rows]


def csat_overall(*, user) -> Csat:
    if not user.is_superuser:
        return Csat(0, 0)
    return Csat.of(_recent().aggregate(**CSAT_AGGREGATES))


def service_review_list_for(*, user, limit: int = 50) -> QuerySet[ServiceReview]:
    if not user.is_superuser:
        return ServiceReview.objects.none()
    return ServiceReview.objects.select_related("client", "author").order_by("-period", "client__name")[:limit]


def service_review_current(*, client) -> ServiceReview | None:
    from shared_apps.feedback.services import quarter_of

    return ServiceReview.objects.filter(client=client, period=quarter_of(timezone.now())).first()


def service_review_history(*, client, before: str, limit: int = 8) -> QuerySet[ServiceReview]:
    """The site's reviews of quarters before `before` ("2026-Q4"; the names sort as they run)."""
    reviews = ServiceReview.objects.filter(client=client, period__lt=before)
    return reviews.select_related("author").order_by("-period")[:limit]
