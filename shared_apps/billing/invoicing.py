"""Monthly invoices: the maths (pure functions over plain values) and the run over every site.

One invoice per site and month (unique constraint), issued by `invoice_run(month=...)`:
- plan fee per plan segment (a mid-month change splits the month at its `effective_on`):
  monthly fee x charged days / days in the month; trial days are not charged;
- engineer time per segment: billable minutes beyond the included hours (pro rata to the
  segment's days, to the whole minute) at the segment plan's hourly rate; the entries are
  linked to the line (`TimeEntryIndex.invoice_line`), which locks them;
- AI: tokens of external providers beyond the quota (pro rata over the segments) at the price
  per 1,000 tokens of the plan in force at the end of the month.
Each amount is rounded once, half up to the cent. Time is read from the public
`TimeEntryIndex` (no tenant schema is visited): a few queries per site.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from shared_apps.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Plan,
    Subscription,
    SubscriptionChange,
    UsageRecord,
)

log = logging.getLogger(__name__)
CENT = Decimal("0.01")


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = month.replace(day=1)
    return start, start.replace(day=calendar.monthrange(start.year, start.month)[1])


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def line_amount(quantity: int | Decimal, unit_price: Decimal, divisor: int) -> Decimal:
    """The one rounding of an invoice: quantity x price / divisor, half up to the cent."""
    return (Decimal(quantity) * unit_price / Decimal(divisor)).quantize(CENT, rounding=ROUND_HALF_UP)


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Segment:
    """Days [start, end] of the month on one plan."""

    plan: Plan
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def plan_segments(
    changes: list[tuple[dt.date, Plan]],
    *,
    period_start: dt.date,
    period_end: dt.date,
    started_on: dt.date,
    cancelled_on: dt.date | None = None,
) -> list[Segment]:
    """Split the subscribed days of the period by plan. `changes` are (effective_on, plan), any
    order; the plan of a day is the last change effective on or before it."""
    first = max(period_start, started_on)
    last = period_end if cancelled_on is None else min(period_end, cancelled_on - dt.timedelta(days=1))
    if first > last:
        return []
    changes = sorted(changes, key=lambda change: change[0])
    segments: list[Segment] = []
    for index, (effective, plan) in enumerate(changes):
        until = changes[index + 1][0] - dt.timedelta(days=1) if index + 1 < len(changes) else last
        start, end = max(effective, first), min(until, last)
        if start > end:
            continue
        if segments and segments[-1].plan.pk == plan.pk:  # the same plan again: one segment
            segments[-1] = Segment(plan, segments[-1].start, end)
        else:
            segments.append(Segment(plan, start, end))
    return segments


@dataclass
class Entry:
    """A billable time entry not billed yet (a row of TimeEntryIndex)."""

    pk: int
    minutes: int
    work_date: dt.date
    ticket_number: int = 0


@dataclass
class DraftLine:
    kind: str
    description: str
    detail: str
    plan: Plan | None
    starts_on: dt.date
    ends_on: dt.date
    quantity: int
    unit: str
    unit_price: Decimal
    price_per: str
    divisor: int
    entries: list[Entry] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return line_amount(self.quantity, self.unit_price, self.divisor)


def _span(start: dt.date, end: dt.date, days_in_month: int) -> str:
    if start.day == 1 and end.day == days_in_month:
        return f"{start:%B %Y}"
    return f"{start.day}–{end.day} {end:%b %Y}"


def invoice_draft_lines(
    *,
    segments: list[Segment],
    period_start: dt.date,
    period_end: dt.date,
    entries: list[Entry],
    tokens: int,
    trial_ends_on: dt.date | None = None,
) -> list[DraftLine]:
    """The lines of one site's invoice for one month (no database access)."""
    dim = period_end.day
    lines: list[DraftLine] = []
    by_segment: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        # An entry dated before the period (logged after its month was invoiced) is billed now,
        # in the first segment; one dated in the period goes to its day's segment.
        index = next((i for i, seg in enumerate(segments) if entry.work_date <= seg.end), len(segments) - 1)
        by_segment[index].append(entry)
    for index, seg in enumerate(segments):
        plan, span = seg.plan, _span(seg.start, seg.end, dim)
        charged_from = max(seg.start, trial_ends_on) if trial_ends_on else seg.start
        charged = max(0, (seg.end - charged_from).days + 1)
        if charged:
            lines.append(
                DraftLine(
                    kind=InvoiceLine.Kind.PLAN,
                    description=f"{plan.name} plan, {span}",
                    detail=f"{charged} of {dim} days" + (" (trial days not charged)" if charged < seg.days else ""),
                    plan=plan,
                    starts_on=charged_from,
                    ends_on=seg.end,
                    quantity=charged,
                    unit="days",
                    unit_price=plan.monthly_fee,
                    price_per="month",
                    divisor=dim,
                )
            )
        seg_entries = by_segment.get(index, [])
        if seg_entries:
            billable = sum(entry.minutes for entry in seg_entries)
            included = _whole(plan.included_hours * 60 * seg.days / dim)
            tickets = len({entry.ticket_number for entry in seg_entries})
            lines.append(
                DraftLine(
                    kind=InvoiceLine.Kind.TIME,
                    description=f"Engineer time beyond included hours, {span}",
                    detail=(
                        f"{billable} min billable on {tickets} ticket{'s' if tickets != 1 else ''}, "
                        f"{included} min included ({plan.included_hours} h/month for {seg.days} of {dim} days)"
                    ),
                    plan=plan,
                    starts_on=seg.start,
                    ends_on=seg.end,
                    quantity=max(0, billable - included),
                    unit="min",
                    unit_price=plan.hourly_rate,
                    price_per="h",
                    divisor=60,
                    entries=seg_entries,
                )
            )
    if segments and tokens:
        quota = _whole(sum(Decimal(seg.plan.ai_token_quota) * seg.days / dim for seg in segments))
        if tokens > quota:
            plan, span = segments[-1].plan, _span(segments[0].start, segments[-1].end, dim)
            lines.append(
                DraftLine(
                    kind=InvoiceLine.Kind.AI,
                    description=f"AI tokens beyond the monthly quota, {span}",
                    detail=f"{tokens:,} tokens used with external providers, {quota:,} included",
                    plan=plan,
                    starts_on=segments[0].start,
                    ends_on=segments[-1].end,
                    quantity=tokens - quota,
                    unit="tokens",
                    unit_price=plan.ai_overage_per_1k,
                    price_per="1,000 tokens",
                    divisor=1000,
                )
            )
    return lines


# --- numbering ---------------------------------------------------------------------------------


def invoice_number_take(year: int) -> int:
    """The next number of `year`: one upsert that also locks the year's counter row until the
    caller's transaction ends (so no gap, no duplicate; a rollback returns the number)."""
    table = InvoiceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO public.{table} (year, last) VALUES (%s, 1)
            ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1
            RETURNING last
            """,
            [year],
        )
        return cursor.fetchone()[0]


# --- the run -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    month: dt.date
    issued: list[Invoice] = field(default_factory=list)
    already: int = 0
    nothing_to_bill: int = 0


def invoice_run(
    *, month: dt.date, today: dt.date | None = None, send: bool = True, client_ids: list[int] | None = None
) -> RunResult:
    """Issue the invoices of `month` for every subscribed site (or those of `client_ids`) that
    has none yet. Safe to run again, also concurrently: a site invoiced already is skipped (and
    the unique constraint stops a race), so nothing is ever duplicated."""
    today = today or timezone.localdate()
    period_start, period_end = month_bounds(month)
    result = RunResult(month=period_start)
    subscriptions = (
        Subscription.objects.select_related("client")
        .filter(client__subdomain__isnull=False, started_on__lte=period_end)
        .exclude(cancelled_on__lte=period_start)
        .order_by("client_id")
    )
    if client_ids is not None:
        subscriptions = subscriptions.filter(client_id__in=client_ids)
    subscriptions = list(subscriptions)
    done = set(Invoice.objects.filter(period_start=period_start).values_list("client_id", flat=True))
    changes: dict[int, list[tuple[dt.date, Plan]]] = defaultdict(list)
    for change in SubscriptionChange.objects.select_related("plan").filter(
        subscription__in=[s.pk for s in subscriptions if s.client_id not in done], effective_on__lte=period_end
    ):
        changes[change.subscription_id].append((change.effective_on, change.plan))
    tokens = dict(
        UsageRecord.objects.filter(month=period_start)
        .exclude(provider="offline")
        .values("client_id")
        .annotate(total=Sum(F("tokens_in") + F("tokens_out")))
        .values_list("client_id", "total")
    )
    for subscription in subscriptions:
        if subscription.client_id in done:
            result.already += 1
            continue
        try:
            invoice = invoice_issue(
                subscription=subscription,
                changes=changes.get(subscription.pk) or [(subscription.started_on, subscription.plan)],
                period_start=period_start,
                period_end=period_end,
                tokens=int(tokens.get(subscription.client_id) or 0),
                today=today,
                send=send,
            )
        except IntegrityError:  # another run issued this site's invoice meanwhile
            result.already += 1
            continue
        if invoice is None:
            result.nothing_to_bill += 1
        else:
            result.issued.append(invoice)
    return result


@transaction.atomic
def invoice_issue(
    *,
    subscription: Subscription,
    changes: list[tuple[dt.date, Plan]],
    period_start: dt.date,
    period_end: dt.date,
    tokens: int,
    today: dt.date,
    send: bool = True,
) -> Invoice | None:
    """One site's invoice for one month, all or nothing. The site's unbilled entries are locked
    (FOR UPDATE) while they are read, so an engineer's edit waits or is refused afterwards."""
    from shared_apps.engineers.models import TimeEntryIndex

    client = subscription.client
    segments = plan_segments(
        changes,
        period_start=period_start,
        period_end=period_end,
        started_on=subscription.started_on,
        cancelled_on=subscription.cancelled_on,
    )
    if not segments:
        return None
    rows = (
        TimeEntryIndex.objects.select_for_update()
        .filter(client_id=client.pk, billable=True, invoice_line__isnull=True, work_date__lte=period_end)
        .values_list("pk", "minutes", "work_date", "ticket_number")
    )
    entries = [Entry(*row) for row in rows]
    drafts = invoice_draft_lines(
        segments=segments,
        period_start=period_start,
        period_end=period_end,
        entries=entries,
        tokens=tokens,
        trial_ends_on=subscription.trial_ends_on,
    )
    if not drafts:
        return None
    total = sum((draft.amount for draft in drafts), Decimal("0.00"))
    year = today.year
    sequence = invoice_number_take(year)
    invoice = Invoice.objects.create(
        client=client,
        number=f"{year}-{sequence:05d}",
        year=year,
        sequence=sequence,
        period_start=period_start,
        period_end=period_end,
        issued_on=today,
        due_on=today + dt.timedelta(days=settings.BILLING_PAYMENT_DAYS),
        currency=segments[-1].plan.currency,
        total=total,
        # Nothing to collect (a free plan, all time included): settled as issued.
        status=Invoice.Status.PAID if total == 0 else Invoice.Status.OPEN,
        paid_on=today if total == 0 else None,
        billing_email=subscription.billing_email,
        site_name=client.name,
    )
    lines = InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            kind=draft.kind,
            description=draft.description,
            detail=draft.detail,
            plan=draft.plan,
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            quantity=draft.quantity,
            unit=draft.unit,
            unit_price=draft.unit_price,
            price_per=draft.price_per,
            divisor=draft.divisor,
            amount=draft.amount,
        )
        for position, draft in enumerate(drafts, start=1)
    )
    for line, draft in zip(lines, drafts, strict=True):
        if draft.entries:
            TimeEntryIndex.objects.filter(pk__in=[entry.pk for entry in draft.entries]).update(invoice_line=line)
    if send and invoice.status == Invoice.Status.OPEN:
        from shared_apps.billing.tasks import invoice_send

        transaction.on_commit(lambda: invoice_send.delay(invoice.pk))
    return invoice
