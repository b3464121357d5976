"""Reads about billing, scoped by the acting user: a site's client admins see that site's
invoices; platform admins see everything. Anyone else gets nothing (views answer 404/403)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from shared_apps.billing.models import Invoice, InvoiceLine, Plan, Subscription
from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN, site_role_for


def _is_platform(user) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def invoice_list_for(*, user, client=None) -> QuerySet[Invoice]:
    """A site's invoices for its client admins (`client` given), or all for platform admins."""
    if client is not None:
        if site_role_for(user=user, client=client) != ROLE_CLIENT_ADMIN:
            return Invoice.objects.none()
        return Invoice.objects.filter(client=client)
    if not _is_platform(user):
        return Invoice.objects.none()
    return Invoice.objects.select_related("client")


def invoice_get_for(*, user, number: str, client=None) -> Invoice | None:
    """None for a missing invoice and for one the user may not see (the same answer)."""
    return invoice_list_for(user=user, client=client).select_related("client", "paid_by").filter(number=number).first()


def invoice_lines_with_tickets(invoice: Invoice) -> list[tuple[InvoiceLine, list[int], int]]:
    """The invoice's lines, each with the ticket numbers and entry count behind it (two queries)."""
    from shared_apps.engineers.models import TimeEntryIndex

    lines = list(invoice.lines.all())
    tickets: dict[int, set[int]] = defaultdict(set)
    counts: dict[int, int] = defaultdict(int)
    rows = TimeEntryIndex.objects.filter(invoice_line__invoice=invoice).values_list("invoice_line_id", "ticket_number")
    for line_id, number in rows:
        tickets[line_id].add(number)
        counts[line_id] += 1
    return [(line, sorted(tickets.get(line.pk, ())), counts.get(line.pk, 0)) for line in lines]


@dataclass
class TicketTime:
    number: int
    subject: str
    minutes: int = 0
    entries: list = field(default_factory=list)


def invoice_line_entries(line: InvoiceLine) -> list[TicketTime]:
    """The time entries billed on `line`, grouped by ticket (one query)."""
    from shared_apps.engineers.models import TimeEntryIndex

    grouped: dict[int, TicketTime] = {}
    rows = (
        TimeEntryIndex.objects.filter(invoice_line=line)
        .select_related("engineer")
        .order_by("ticket_number", "work_date", "pk")
    )
    for row in rows:
        ticket = grouped.setdefault(row.ticket_number, TicketTime(row.ticket_number, row.ticket_subject))
        ticket.minutes += row.minutes
        ticket.entries.append(row)
    return list(grouped.values())


def subscription_for(*, client) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(client=client).first()


@dataclass(frozen=True)
class SiteSuspension:
    """Why a site is suspended: billing's dunning (an invoice stayed unpaid past the grace
    period; recording the payment reactivates it) or a platform admin (only they reactivate)."""

    since: dt.datetime | None
    for_nonpayment: bool


def site_suspension_for(*, client, subscription: Subscription | None = None) -> SiteSuspension | None:
    """None for a site that is not suspended. One query, none when the caller already holds the
    site's `subscription`."""
    if not client.is_suspended:
        return None
    if subscription is None:
        for_nonpayment = Subscription.objects.filter(client_id=client.pk, suspended_for_nonpayment=True).exists()
    else:
        for_nonpayment = subscription.suspended_for_nonpayment
    return SiteSuspension(since=client.suspended_at, for_nonpayment=for_nonpayment)


def invoice_overdue_list_for(*, user, client, today: dt.date) -> QuerySet[Invoice]:
    """The site's unpaid invoices past their due date, oldest first (its client admins only)."""
    overdue = invoice_list_for(user=user, client=client).filter(status=Invoice.Status.OPEN, due_on__lt=today)
    return overdue.order_by("due_on", "pk")


@dataclass
class AIUsage:
    month: dt.date
    used: int
    quota: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.quota)) if self.quota else 100

    @property
    def over(self) -> int:
        return max(0, self.used - self.quota)


def ai_usage_for(*, client, plan: Plan | None, month: dt.date) -> AIUsage:
    """External-provider tokens of `month` against the plan's quota (offline use is free)."""
    from shared_apps.billing.metering import month_start, tokens_used

    return AIUsage(
        month=month_start(month), used=tokens_used(client.pk, month), quota=plan.ai_token_quota if plan else 0
    )


@dataclass
class Overview:
    mrr: dict[str, Decimal]
    outstanding: dict[str, Decimal]
    overdue: dict[str, Decimal]
    outstanding_count: int
    overdue_count: int
    subscriptions: dict[str, int]


def billing_overview(*, user, today: dt.date) -> Overview | None:
    """Platform figures in three queries: monthly recurring revenue (plan fees of subscriptions
    not cancelled or in trial), and open invoices, outstanding and overdue, per currency."""
    if not _is_platform(user):
        return None
    mrr: dict[str, Decimal] = defaultdict(Decimal)
    statuses: dict[str, int] = defaultdict(int)
    rows = Subscription.objects.values("status", "plan__currency").annotate(
        fees=Sum("plan__monthly_fee"), n=Count("pk")
    )
    for row in rows:
        statuses[row["status"]] += row["n"]
        if row["status"] in (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE):
            mrr[row["plan__currency"]] += row["fees"]
    outstanding: dict[str, Decimal] = defaultdict(Decimal)
    overdue: dict[str, Decimal] = defaultdict(Decimal)
    counts = {"open": 0, "overdue": 0}
    late = Q(due_on__lt=today)
    open_rows = (
        Invoice.objects.filter(status=Invoice.Status.OPEN)
        .values("currency")
        .annotate(sum=Sum("total"), n=Count("pk"), late_sum=Sum("total", filter=late), late_n=Count("pk", filter=late))
    )
    for row in open_rows:
        outstanding[row["currency"]] += row["sum"]
        overdue[row["currency"]] += row["late_sum"] or Decimal("0.00")
        counts["open"] += row["n"]
        counts["overdue"] += row["late_n"]
    return Overview(
        mrr=dict(mrr),
        outstanding=dict(outstanding),
        overdue={k: v for k, v in overdue.items() if v},
        outstanding_count=counts["open"],
        overdue_count=counts["overdue"],
        subscriptions=dict(statuses),
    )


def plan_list_for(*, user) -> QuerySet[Plan]:
    if not _is_platform(user):
        return Plan.objects.none()
    return Plan.objects.annotate(site_count=Count("subscriptions"))


def subscription_list_for(*, user) -> QuerySet[Subscription]:
    if not _is_platform(user):
        return Subscription.objects.none()
    return Subscription.objects.select_related("client", "plan").filter(client__subdomain__isnull=False)


def subscription_get_for(*, user, subdomain: str) -> Subscription | None:
    return subscription_list_for(user=user).filter(client__subdomain=subdomain).first()
