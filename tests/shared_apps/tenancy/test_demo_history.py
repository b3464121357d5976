"""`manage.py demo` tells a coherent history: tickets opened over the last weeks, each one's
messages, events, time entries, AI work and rating after it was opened and never in the future;
last month's invoice bills only last month's time, logged on tickets opened before it; the
client admin's reports have tickets on many days and ratings in more than one month. And a
second run changes none of it."""

import io
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.billing.invoicing import previous_month
from shared_apps.billing.models import Invoice
from shared_apps.billing.selectors import ai_usage_for
from shared_apps.engineers.models import TicketIndex, TimeEntryIndex
from shared_apps.feedback.models import ReviewIndex
from shared_apps.tenancy.models import Client
from tenant_apps.ai.models import AIResult
from tenant_apps.reviews.models import Review
from tenant_apps.reviews.selectors import csat_report_for
from tenant_apps.tickets.models import Message, Ticket, TicketEvent, TimeEntry
from tenant_apps.tickets.reports import ticket_report_for


@pytest.fixture
def demo(acme, globex):
    call_command("demo", stdout=io.StringIO())
    return {"acme": acme, "globex": globex}


def _rows(site):
    """Everything dated on a site's tickets, read in its schema."""
    connection.set_tenant(site)
    tickets = {t.pk: t for t in Ticket.objects.order_by("number")}
    rows = {
        "messages": list(Message.objects.all()),
        "events": list(TicketEvent.objects.all()),
        "times": list(TimeEntry.objects.all()),
        "reviews": list(Review.objects.all()),
        "ai": list(AIResult.objects.all()),
    }
    connection.set_schema_to_public()
    return tickets, rows


@pytest.mark.parametrize("subdomain", ["acme", "globex"])
def test_nothing_happens_to_a_demo_ticket_before_it_was_opened_or_in_the_future(demo, subdomain):
    now = timezone.now()
    tickets, rows = _rows(demo[subdomain])
    assert len(tickets) >= 4
    opened = [t.created_at for t in tickets.values()]
    assert opened == sorted(opened), "ticket numbers follow the order tickets were opened in"
    assert min(opened) < now - timedelta(days=28) and max(opened) > now - timedelta(days=1)
    for kind in ("messages", "events", "ai"):
        for row in rows[kind]:
            assert tickets[row.ticket_id].created_at <= row.created_at <= now, (kind, row)
    for entry in rows["times"]:
        ticket = tickets[entry.ticket_id]
        assert timezone.localdate(ticket.created_at) <= entry.work_date <= timezone.localdate(now), entry
        assert ticket.created_at <= entry.created_at <= now, entry
    assert rows["reviews"]
    for review in rows["reviews"]:
        ticket = tickets[review.ticket_id]
        assert ticket.created_at <= ticket.resolved_at <= review.created_at <= now, review
    for ticket in tickets.values():
        assert ticket.created_at <= (ticket.first_responded_at or now) <= now
        assert ticket.created_at <= ticket.updated_at <= now
        if ticket.first_response_due:  # the SLA clock starts at the opening
            assert ticket.created_at < ticket.first_response_due <= ticket.resolution_due


def test_the_sla_flags_agree_with_the_story(demo):
    for site in demo.values():
        tickets, rows = _rows(site)
        breaches = {(e.ticket_id, e.after["breach"]): e.created_at for e in rows["events"] if e.kind == "sla_breach"}
        for ticket in tickets.values():
            stopped = ticket.resolved_at or ticket.sla_paused_at or timezone.now()
            late = ticket.resolution_due is not None and stopped > ticket.resolution_due
            assert ticket.resolution_breached == late == ((ticket.pk, "resolution") in breaches), ticket
            if late:
                assert breaches[(ticket.pk, "resolution")] == ticket.resolution_due
    connection.set_tenant(demo["globex"])
    late = Ticket.objects.get(subject="VPN certificate expired")  # "Nobody answered for a whole day."
    assert late.first_response_breached and late.review.rating == 1


def test_last_months_invoice_bills_last_months_time_on_tickets_opened_before_it(demo):
    acme = demo["acme"]
    last = previous_month(timezone.localdate())
    invoice = Invoice.objects.get(client=acme, period_start=last)
    billed = list(TimeEntryIndex.objects.filter(client=acme, invoice_line__invoice=invoice))
    assert sum(row.minutes for row in billed) == 13 * 60  # Standard includes 10 h: 3 h are billed
    assert all(invoice.period_start <= row.work_date <= invoice.period_end for row in billed)
    assert not TimeEntryIndex.objects.filter(client=acme, work_date__gte=last, work_date__lte=invoice.period_end,
                                             invoice_line__isnull=True, billable=True).exists()  # fmt: skip
    tickets, _ = _rows(acme)
    by_number = {t.number: t for t in tickets.values()}
    for row in billed:
        ticket = by_number[row.ticket_number]
        assert timezone.localdate(ticket.created_at) <= row.work_date, (row.note, ticket.subject)
        assert ticket.resolved_at is None or row.work_date <= timezone.localdate(ticket.resolved_at)


def test_the_client_admins_reports_have_tickets_on_many_days_and_ratings_in_several_months(demo):
    admin = User.objects.get(email="admin@acme.demo.test")
    connection.set_tenant(demo["acme"])
    report = ticket_report_for(user=admin, role="admin")
    opened_days = [day.day for day in report.days if day.opened]
    assert len(opened_days) >= 5 and report.created == sum(day.opened for day in report.days)
    assert len([day for day in report.days if day.resolved]) >= 4
    assert report.first_response_median > timedelta(minutes=5)  # not everything answered on the spot
    csat = csat_report_for(user=admin, role="admin")
    assert len([month for month in csat.months if month.csat.total]) >= 2
    connection.set_schema_to_public()
    acme = Client.objects.get(pk=demo["acme"].pk)
    usage = ai_usage_for(client=acme, plan=acme.plan, month=timezone.localdate())
    assert 0 < usage.used < usage.quota  # "AI this month": the offline AI of the history does not hide it


def test_the_cross_site_indexes_carry_the_historys_dates(demo):
    for site in demo.values():
        tickets, rows = _rows(site)
        index = {row.ticket_pk: row for row in TicketIndex.objects.filter(client=site)}
        assert {pk: (t.created_at, t.updated_at) for pk, t in tickets.items()} == {
            pk: (row.created_at, row.updated_at) for pk, row in index.items()
        }
        reviews = {row.review_pk: row.created_at for row in ReviewIndex.objects.filter(client=site)}
        assert reviews == {review.pk: review.created_at for review in rows["reviews"]}


def test_a_second_run_changes_nothing(demo):
    def snapshot():
        state = {}
        for subdomain, site in demo.items():
            tickets, rows = _rows(site)
            state[subdomain] = (
                [(t.number, t.subject, t.status, t.created_at, t.updated_at) for t in tickets.values()],
                {kind: len(items) for kind, items in rows.items()},
            )
        state["invoices"] = list(Invoice.objects.order_by("number").values_list("number", "total"))
        state["time index"] = TimeEntryIndex.objects.count()
        return state

    first = snapshot()
    call_command("demo", stdout=io.StringIO())
    assert snapshot() == first


def test_stories_fit_any_day_of_the_month():
    """Every story's moments are in the past and in order, whatever today is (the 1st, the
    31st, a leap February...): checked against the story definitions without a database."""
    from tenant_apps.tickets.demo import STORIES

    for today in (date(2027, 3, 1), date(2027, 3, 31), date(2028, 3, 1), date(2027, 1, 1), date(2026, 12, 15)):
        for clock in ("00:05", "12:00", "23:55"):
            hours, minutes = map(int, clock.split(":"))
            now = timezone.make_aware(datetime(today.year, today.month, today.day, hours, minutes))
            for story in STORIES:
                opened = story.opened(now)
                moments = [opened, *(when(opened) for when, *_ in story.steps)]
                assert moments == sorted(moments) and moments[-1] <= now, (story.subject, today, clock)
                if story.opened.__qualname__.startswith("last_month"):
                    assert all(previous_month(today) <= timezone.localdate(m) < today.replace(day=1) for m in moments)
