"""Reads of ticket reviews on the current site, scoped by the acting user."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from shared_apps.feedback.csat import CSAT_AGGREGATES, Csat
from tenant_apps.reviews.models import Review
from tenant_apps.reviews.notifications import PENDING_SECONDS, pending_key
from tenant_apps.tickets.models import Ticket

MONTHS = 12
BANNER_TICKETS = 3


def review_for(*, ticket: Ticket) -> Review | None:
    return Review.objects.filter(ticket=ticket).first()


def reviews_pending_for(*, user) -> list[tuple[int, str]]:
    """Resolved tickets `user` opened that still wait for a rating, newest first (at most three),
    as (number, subject). Cached per person and site; status changes and reviews drop it."""
    from tenant_apps.reviews.services import RATEABLE, REVIEW_ASK_DAYS

    key = pending_key(user.pk)
    cached = cache.get(key)
    if cached is not None:
        return cached
    since = timezone.now() - timedelta(days=REVIEW_ASK_DAYS)
    pending = list(
        Ticket.objects.filter(requester=user, status__in=RATEABLE, resolved_at__gte=since, review__isnull=True)
        .order_by("-resolved_at")
        .values_list("number", "subject")[:BANNER_TICKETS]
    )
    cache.set(key, pending, PENDING_SECONDS)
    return pending


@dataclass(frozen=True)
class MonthCsat:
    month: date
    csat: Csat


@dataclass(frozen=True)
class CategoryCsat:
    name: str
    csat: Csat


@dataclass(frozen=True)
class CsatReport:
    overall: Csat
    ratings: list[tuple[int, int]]  # (stars, how many), 5 down to 1
    months: list[MonthCsat]  # oldest first, every month of the window (empty ones too)
    categories: list[CategoryCsat]
    low: list[Review]  # the latest ratings of 2 or less, to follow up
    since: date


def _month_starts(today: date, count: int) -> list[date]:
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def csat_report_for(*, user, role: str | None, months: int = MONTHS) -> CsatReport | None:
    """The site's CSAT for its client admins: overall, by month and by category over the last
    `months` calendar months (in the viewer's timezone), plus the latest low ratings.
    Four queries, whatever the number of reviews."""
    if role != "admin":
        return None
    starts = _month_starts(timezone.localdate(), months)
    since = timezone.make_aware(datetime.combine(starts[0], time.min))
    window = Review.objects.filter(created_at__gte=since)
    overall_row = window.aggregate(**CSAT_AGGREGATES, **{f"r{stars}": _count_of(stars) for stars in range(1, 6)})
    by_month = {
        row["month"].date(): Csat.of(row)
        for row in window.annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(**CSAT_AGGREGATES)
        .order_by("month")
    }
    categories = [
        CategoryCsat(name=row["ticket__category__name"] or "Not set", csat=Csat.of(row))
        for row in window.values("ticket__category__name")
        .annotate(**CSAT_AGGREGATES)
        .order_by("-total", "ticket__category__name")
    ]
    low = list(window.filter(rating__lte=2).select_related("ticket", "requester").order_by("-created_at")[:10])
    return CsatReport(
        overall=Csat.of(overall_row),
        ratings=[(stars, overall_row[f"r{stars}"]) for stars in range(5, 0, -1)],
        months=[MonthCsat(month=start, csat=by_month.get(start, Csat(0, 0))) for start in starts],
        categories=categories,
        low=low,
        since=starts[0],
    )


def _count_of(stars: int):
    return Count("pk", filter=Q(rating=stars))
