"""The monthly run: never duplicates, gap-free numbers per year, invoiced time entries locked."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_tenants.utils import tenant_context

from shared_apps.billing.invoicing import invoice_number_take, invoice_run
from shared_apps.billing.models import Invoice, InvoiceCounter
from shared_apps.engineers.models import TimeEntryIndex
from shared_apps.engineers.ticket_index import ticket_index_rebuild
from tenant_apps.tickets import services as tickets
from tests.shared_apps.billing.conftest import NOV_1, OCT, log_time, subscribe


def test_running_a_month_again_never_duplicates(acme, globex, users, business, django_capture_on_commit_callbacks):
    subscribe(acme, business)
    subscribe(globex, business)
    log_time(acme, users, 700, dt.date(2026, 10, 9))
    with django_capture_on_commit_callbacks(execute=True):
        first = invoice_run(month=OCT, today=NOV_1)
    assert len(first.issued) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [users["acme_admin"].email, users["globex_admin"].email]
    log_time(acme, users, 60, dt.date(2026, 10, 10))  # logged late: not on October's invoice
    again = invoice_run(month=OCT, today=dt.date(2026, 11, 2))
    assert (again.issued, again.already) == ([], 2)
    assert Invoice.objects.filter(period_start=OCT).count() == 2
    assert Invoice.objects.get(client=acme).total == Decimal("460.00")  # 310 + 100 min at 90/h


def test_the_command_runs_a_month_and_refuses_the_current_one(acme, business, capsys):
    subscribe(acme, business)
    call_command("invoice_run", "--month", "2026-10")
    call_command("invoice_run", "--month", "2026-10")
    out = capsys.readouterr().out
    assert "2026-10: 0 invoices issued, 1 sites invoiced already" in out  # globex began in November
    assert Invoice.objects.filter(client=acme, period_start=OCT).count() == 1
    from django.core.management.base import CommandError
    from django.utils import timezone

    with pytest.raises(CommandError, match="not over yet"):
        call_command("invoice_run", "--month", f"{timezone.localdate():%Y-%m}")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("invoice_run", "--month", "October")


def test_numbers_are_consecutive_per_year_and_restart_each_year(acme, globex, business):
    subscribe(acme, business)
    subscribe(globex, business)
    invoice_run(month=dt.date(2026, 11, 1), today=dt.date(2026, 12, 1))
    invoice_run(month=dt.date(2026, 12, 1), today=dt.date(2027, 1, 1))
    numbers = list(Invoice.objects.order_by("year", "sequence").values_list("number", flat=True))
    assert numbers == ["2026-00001", "2026-00002", "2027-00001", "2027-00002"]


def test_a_rolled_back_invoice_gives_its_number_back(business):
    from django.db import transaction

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            assert invoice_number_take(2031) == 1
            raise RuntimeError
    assert invoice_number_take(2031) == 1
    assert InvoiceCounter.objects.get(year=2031).last == 1


def test_invoiced_time_entries_are_locked(acme, users, business):
    subscribe(acme, business)
    ticket, billed = log_time(acme, users, 700, dt.date(2026, 10, 9))
    _, open_entry = log_time(acme, users, 30, dt.date(2026, 11, 3), ticket=ticket)
    invoice = invoice_run(month=OCT, today=NOV_1).issued[0]
    engineer = users["engineer_all"]
    with tenant_context(acme):
        with pytest.raises(ValidationError, match=f"on invoice {invoice.number}"):
            tickets.time_entry_update(entry=billed, actor=engineer, role="engineer", minutes=5, billable=True)
        with pytest.raises(ValidationError, match="can no longer be changed"):
            tickets.time_entry_delete(entry=billed, actor=engineer, role="engineer")
        billed.refresh_from_db()
        assert billed.minutes == 700
        # November's entry is not invoiced yet: it can still be corrected.
        tickets.time_entry_update(entry=open_entry, actor=engineer, role="engineer", minutes=45, billable=False)
    assert TimeEntryIndex.objects.get(client=acme, entry_pk=open_entry.pk).minutes == 45
    # Rebuilding the index keeps the link (and the lock).
    ticket_index_rebuild(client=acme)
    row = TimeEntryIndex.objects.get(client=acme, entry_pk=billed.pk)
    assert row.invoice_line.invoice == invoice


def test_deleting_an_entry_not_yet_invoiced_removes_it_from_the_next_invoice(acme, users, business):
    subscribe(acme, business)
    _, entry = log_time(acme, users, 700, dt.date(2026, 10, 9))
    with tenant_context(acme):
        tickets.time_entry_delete(entry=entry, actor=users["engineer_all"], role="engineer")
    invoice = invoice_run(month=OCT, today=NOV_1).issued[0]
    assert [line.kind for line in invoice.lines.all()] == ["plan"]


def test_a_batch_meeting_an_invoice_issued_meanwhile_leaves_nothing_behind(acme, globex, users, business):
    """What a concurrent run would cause: the unique constraint refuses the second invoice of
    the month, and the whole batch rolls back (no number used, no entry locked)."""
    from django.db import IntegrityError, transaction

    from shared_apps.billing.invoicing import SiteBill, invoice_issue
    from shared_apps.billing.models import Subscription

    subscribe(acme, business)
    subscribe(globex, business)
    _, entry = log_time(globex, users, 700, dt.date(2026, 10, 9))
    bills = {site: SiteBill(Subscription.objects.get(client=site), [(dt.date(2026, 1, 1), business)], 0)
             for site in (acme, globex)}  # fmt: skip
    period = {"period_start": OCT, "period_end": dt.date(2026, 10, 31), "today": NOV_1, "send": False}
    (first,) = invoice_issue(bills=[bills[acme]], **period)
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice_issue(bills=[bills[globex], bills[acme]], **period)
    assert list(Invoice.objects.values_list("number", flat=True)) == [first.number]
    assert TimeEntryIndex.objects.get(client=globex, entry_pk=entry.pk).invoice_line is None
    # The run itself then issues globex's, with the next number.
    result = invoice_run(month=OCT, today=NOV_1, send=False)
    assert [i.number for i in result.issued] == ["2026-00002"] and result.already == 1
