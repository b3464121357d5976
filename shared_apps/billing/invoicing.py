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

    def fields(self) -> dict:
        names = ("kind", "description", "detail", "plan", "starts_on", "ends_on", "quantity", "unit", "unit_price",
                 "price_per", "divisor")  # fmt: skip
        return {name: getattr(self, name) for name in names}


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


def invoice_number_take(year: int, count: int = 1) -> int:
    """Take `count` consecutive numbers of `year` and return the last one: one upsert that also
    locks the year's counter row until the caller's transaction ends (so no gap, no duplicate;
    a rollback returns the numbers)."""
    table = InvoiceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO public.{table} (year, last) VALUES (%s, %s)
            ON CONFLICT (year) DO UPDATE SET last = {table}.last + EXCLUDED.last
            RETURNING last
            """,
            [year, count],
        )
        return cursor.fetchone()[0]


# --- the run -----------------------------------------------------------------------------------

BATCH = 100  # sites per transaction


@dataclass
class RunResult:
    month: dt.date
    issued: list[Invoice] = field(default_factory=list)
    already: int = 0
    nothing_to_bill: int = 0


@dataclass
class SiteBill:
    """What the run knows about one site before its invoice is made."""

    subscription: Subscription
    changes: list[tuple[dt.date, Plan]]
    tokens: int


def invoice_run(
    *, month: dt.date, today: dt.date | None = None, send: bool = True, client_ids: list[int] | None = None
) -> RunResult:
    """Issue the invoices of `month` for every subscribed site (or those of `client_ids`) that
    has none yet. Safe to run again, also concurrently: a site invoiced already is skipped (and
    the unique constraint stops a race), so nothing is ever duplicated.

    Sites go in batches of `BATCH`, each batch one transaction of a handful of queries; should a
    batch meet an invoice another run just issued, it is redone site by site."""
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
    todo = [s for s in subscriptions if s.client_id not in done]
    result.already = len(subscriptions) - len(todo)
    changes: dict[int, list[tuple[dt.date, Plan]]] = defaultdict(list)
    for change in SubscriptionChange.objects.select_related("plan").filter(
        subscription__in=[s.pk for s in todo], effective_on__lte=period_end
    ):
        changes[change.subscription_id].append((change.effective_on, change.plan))
    tokens = dict(
        UsageRecord.objects.filter(month=period_start, client_id__in=[s.client_id for s in todo])
        .exclude(provider="offline")
        .values("client_id")
        .annotate(total=Sum(F("tokens_in") + F("tokens_out")))
        .values_list("client_id", "total")
    )
    bills = [
        SiteBill(s, changes.get(s.pk) or [(s.started_on, s.plan)], int(tokens.get(s.client_id) or 0)) for s in todo
    ]
    raced = 0
    for start in range(0, len(bills), BATCH):
        batch = bills[start : start + BATCH]
        period = {"period_start": period_start, "period_end": period_end, "today": today, "send": send}
        try:
            result.issued += invoice_issue(bills=batch, **period)
        except IntegrityError:  # another run issued one of these meanwhile: one by one
            for bill in batch:
                try:
                    result.issued += invoice_issue(bills=[bill], **period)
                except IntegrityError:
                    raced += 1
    result.already += raced
    result.nothing_to_bill = len(bills) - len(result.issued) - raced
    return result


@transaction.atomic
def invoice_issue(
    *, bills: list[SiteBill], period_start: dt.date, period_end: dt.date, today: dt.date, send: bool = True
) -> list[Invoice]:
    """The invoices of `bills`' sites for one month, all or nothing, in five queries whatever the
    number of sites. The sites' unbilled entries are locked (FOR UPDATE) while they are read, so
    an engineer's edit waits, and is refused once the entry is on an invoice."""
    from shared_apps.engineers.models import TimeEntryIndex

    entries: dict[int, list[Entry]] = defaultdict(list)
    rows = (
        TimeEntryIndex.objects.select_for_update()
        .filter(
            client_id__in=[bill.subscription.client_id for bill in bills],
            billable=True,
            invoice_line__isnull=True,
            work_date__lte=period_end,
        )
        .values_list("client_id", "pk", "minutes", "work_date", "ticket_number")
    )
    for client_id, *values in rows:
        entries[client_id].append(Entry(*values))
    drafted: list[tuple[SiteBill, list[Segment], list[DraftLine]]] = []
    for bill in bills:
        sub = bill.subscription
        segments = plan_segments(
            bill.changes,
            period_start=period_start,
            period_end=period_end,
            started_on=sub.started_on,
            cancelled_on=sub.cancelled_on,
        )
        drafts = invoice_draft_lines(
            segments=segments,
            period_start=period_start,
            period_end=period_end,
            entries=entries.get(sub.client_id, []) if segments else [],
            tokens=bill.tokens,
            trial_ends_on=sub.trial_ends_on,
        )
        if drafts:
            drafted.append((bill, segments, drafts))
    if not drafted:
        return []
    year = today.year
    first = invoice_number_take(year, len(drafted)) - len(drafted) + 1
    invoices = Invoice.objects.bulk_create(
        _invoice_new(bill, segments, drafts, year=year, sequence=first + index, period_start=period_start,
                     period_end=period_end, today=today)
        for index, (bill, segments, drafts) in enumerate(drafted)
    )  # fmt: skip
    pairs = [
        (draft, InvoiceLine(invoice=invoice, position=position, amount=draft.amount, **draft.fields()))
        for invoice, (_, _, drafts) in zip(invoices, drafted, strict=True)
        for position, draft in enumerate(drafts, start=1)
    ]
    lines = InvoiceLine.objects.bulk_create(line for _, line in pairs)
    entry_ids, line_ids = [], []
    for (draft, _), line in zip(pairs, lines, strict=True):
        for entry in draft.entries:
            entry_ids.append(entry.pk)
            line_ids.append(line.pk)
    if entry_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE public.{TimeEntryIndex._meta.db_table} AS entry SET invoice_line_id = billed.line
                FROM unnest(%s::bigint[], %s::bigint[]) AS billed(id, line) WHERE entry.id = billed.id
                """,
                [entry_ids, line_ids],
            )
    if send:
        from shared_apps.billing.tasks import invoice_send

        for invoice in invoices:
            if invoice.status == Invoice.Status.OPEN:
                transaction.on_commit(lambda pk=invoice.pk: invoice_send.delay(pk))
    return invoices


def _invoice_new(bill: SiteBill, segments, drafts, *, year, sequence, period_start, period_end, today) -> Invoice:
    total = sum((draft.amount for draft in drafts), Decimal("0.00"))
    client = bill.subscription.client
    return Invoice(
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
        billing_email=bill.subscription.billing_email,
        site_name=client.name,
    )
