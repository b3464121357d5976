"""The client admin's report on their site's tickets: what is open now, how fast tickets were
answered and resolved over the last 30 days, how often the SLA held, and a daily series of
tickets opened and resolved.

Four aggregate queries whatever the number of tickets: the open tickets grouped by status,
priority and category; the 30-day medians and SLA counts; tickets opened per day; tickets
resolved per day. Python only rolls up the grouped rows (a few dozen at most) and fills in days
without tickets.

Times are wall-clock: a median resolution time includes the time a ticket spent waiting on the
requester. Breaches are the flags the periodic SLA check sets (DESIGN section 5); a ticket it has
not flagged counts as meeting its target so far.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Aggregate, Count, DurationField, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tenant_apps.tickets.models import Priority, Ticket
from tenant_apps.tickets.selectors import ticket_visible_to

REPORT_DAYS = 30
OPEN_STATUSES = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING)
# Most pressing first, as people read a priority list.
PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW)
NOT_SET = "Not set"


class Median(Aggregate):
    """PostgreSQL's continuous median, `percentile_cont(0.5) WITHIN GROUP (ORDER BY ...)`.

    Like every ordered-set aggregate it skips NULL inputs, and it is NULL over no rows; over an
    interval it returns an interval (a `timedelta`)."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, **extra):
        extra.setdefault("output_field", DurationField())
        super().__init__(expression, **extra)


@dataclass(frozen=True)
class Tally:
    """One bar of a breakdown: a label, its count, and the key it stands for ("" for not set)."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class SLAShare:
    """Of the `total` tickets that had a target, how many were flagged as breached."""

    total: int
    breached: int

    @property
    def met(self) -> int:
        return self.total - self.breached

    @property
    def percent(self) -> float | None:
        """Share of tickets that met the target, 0-100; None when no ticket had a target."""
        return 100 * self.met / self.total if self.total else None


@dataclass(frozen=True)
class DayCount:
    day: date
    opened: int
    resolved: int


@dataclass(frozen=True)
class TicketReport:
    """Everything the report page shows. `since` is midnight (current time zone) of the first of
    the `REPORT_DAYS` calendar days that end today; the 30-day figures cover tickets created
    from then on."""

    now: datetime
    since: datetime
    open_total: int
    open_by_status: list[Tally]
    open_by_priority: list[Tally]
    open_by_category: list[Tally]
    created: int
    responded: int
    first_response_median: timedelta | None
    resolved: int
    resolution_median: timedelta | None
    first_response_sla: SLAShare
    resolution_sla: SLAShare
    days: list[DayCount]


def report_window_start(*, now: datetime, days: int = REPORT_DAYS) -> datetime:
    """Midnight, in the current time zone, `days - 1` days before `now`'s date."""
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first_day, time.min))


def ticket_open_breakdown(*, tickets: QuerySet[Ticket]) -> tuple[list[Tally], list[Tally], list[Tally]]:
    """Open (new, open or pending) tickets by status, by priority and by category, from one
    query grouped by all three. Statuses and priorities are listed in full (zeros included);
    categories only when they have open tickets, busiest first."""
    rows = (
        tickets.filter(status__in=OPEN_STATUSES)
        .values("status", "priority", "category__slug", "category__name")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_status: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    by_category: Counter[tuple[str, str]] = Counter()
    for row in rows:  # one row per (status, priority, category) in use: a few dozen at most
        by_status[row["status"]] += row["count"]
        by_priority[row["priority"]] += row["count"]
        by_category[(row["category__slug"] or "", row["category__name"] or NOT_SET)] += row["count"]
    statuses = [Tally(s.value, s.label, by_status[s.value]) for s in OPEN_STATUSES]
    priorities = [Tally(p.value, p.label, by_priority[p.value]) for p in PRIORITY_ORDER]
    if by_priority[""]:
        priorities.append(Tally("", NOT_SET, by_priority[""]))
    # Busiest first; "not set" last whatever its count, then by name for a stable order.
    categories = sorted(
        (Tally(slug, name, count) for (slug, name), count in by_category.items()),
        key=lambda t: (t.key == "", -t.count, t.label),
    )
    return statuses, priorities, categories


def ticket_period_stats(*, tickets: QuerySet[Ticket], since: datetime, until: datetime) -> dict:
    """For tickets created from `since` to `until`, in one query: how many; how many were answered and
    resolved, with the median time to each; and per SLA target how many had one and how many
    were flagged as breached."""
    answered = Q(first_responded_at__isnull=False)
    resolved = Q(resolved_at__isnull=False)
    first_target = Q(first_response_due__isnull=False)
    resolution_target = Q(resolution_due__isnull=False)
    return tickets.filter(created_at__gte=since, created_at__lte=until).aggregate(
        created=Count("pk"),
        responded=Count("pk", filter=answered),
        first_response_median=Median(F("first_responded_at") - F("created_at"), filter=answered),
        resolved=Count("pk", filter=resolved),
        resolution_median=Median(F("resolved_at") - F("created_at"), filter=resolved),
        first_response_targets=Count("pk", filter=first_target),
        first_response_breaches=Count("pk", filter=first_target & Q(first_response_breached=True)),
        resolution_targets=Count("pk", filter=resolution_target),
        resolution_breaches=Count("pk", filter=resolution_target & Q(resolution_breached=True)),
    )


def ticket_daily_counts(*, tickets: QuerySet[Ticket], since: datetime, days: int = REPORT_DAYS) -> list[DayCount]:
    """Tickets opened and tickets resolved on each of `days` days from `since` (current time
    zone), zeros included: two grouped queries. A ticket resolved today counts today, whenever it
    was opened; a reopened ticket no longer counts as resolved."""

    def per_day(field: str) -> dict[date, int]:
        rows = (
            tickets.filter(**{f"{field}__gte": since})
            .annotate(day=TruncDate(field))
            .values("day")
            .annotate(count=Count("pk"))
            .order_by()
        )
        return {row["day"]: row["count"] for row in rows}

    opened, resolved = per_day("created_at"), per_day("resolved_at")
    first_day = timezone.localdate(since)
    dates = [first_day + timedelta(days=n) for n in range(days)]
    return [DayCount(day, opened.get(day, 0), resolved.get(day, 0)) for day in dates]


def ticket_report_for(*, user, role: str | None, now: datetime | None = None) -> TicketReport:
    """The report over the tickets `user` may see (for a client admin: all of the site's)."""
    now = now or timezone.now()
    since = report_window_start(now=now)
    tickets = ticket_visible_to(user=user, role=role)
    by_status, by_priority, by_category = ticket_open_breakdown(tickets=tickets)
    stats = ticket_period_stats(tickets=tickets, since=since, until=now)
    return TicketReport(
        now=now,
        since=since,
        open_total=sum(t.count for t in by_status),
        open_by_status=by_status,
        open_by_priority=by_priority,
        open_by_category=by_category,
        created=stats["created"],
        responded=stats["responded"],
        first_response_median=stats["first_response_median"],
        resolved=stats["resolved"],
        resolution_median=stats["resolution_median"],
        first_response_sla=SLAShare(stats["first_response_targets"], stats["first_response_breaches"]),
        resolution_sla=SLAShare(stats["resolution_targets"], stats["resolution_breaches"]),
        days=ticket_daily_counts(tickets=tickets, since=since),
    )
