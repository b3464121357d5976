"""Correcting and deleting time entries on the ticket page: only the engineer who logged an entry,
only while it is not on an invoice; client users never see entries (404), nor does anyone off
the site."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client as HttpClient

from shared_apps.billing.invoicing import invoice_run
from shared_apps.engineers.models import TimeEntryIndex
from tenant_apps.tickets import services
from tenant_apps.tickets.models import TicketEvent, TimeEntry
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.shared_apps.billing.conftest import NOV_1, OCT, plan_make, subscribe
from tests.tenant_apps.tickets.test_ticket_views import _count_queries

NOV_3 = dt.date(2026, 11, 3)


def _in(site):
    connection.set_tenant(site)


def _log(ticket, engineer, minutes: int, *, day=NOV_3, note: str = "", billable: bool = True) -> TimeEntry:
    return services.time_entry_log(
        ticket=ticket, actor=engineer, role="engineer", minutes=minutes, billable=billable, note=note, work_date=day
    )


@pytest.fixture
def ticket(acme, users):
    _in(acme)
    ticket = services.ticket_create(requester=users["acme_staff"], subject="VPN drops", description="<p>x</p>")
    connection.set_schema_to_public()
    return ticket


@pytest.fixture
def entry(ticket, acme, users) -> TimeEntry:
    """engineer_acme's own entry, not invoiced."""
    _in(acme)
    entry = _log(ticket, users["engineer_acme"], 25, note="diagnosis")
    connection.set_schema_to_public()
    return entry


def _log_and_invoice(ticket, acme, engineer) -> tuple[TimeEntry, str]:
    """An October entry by `engineer`, then acme's October invoice: (entry, invoice number)."""
    subscribe(acme, plan_make("business", included_hours=0))
    _in(acme)
    entry = _log(ticket, engineer, 90, day=OCT.replace(day=9), note="firewall lease")
    connection.set_schema_to_public()
    invoice = invoice_run(month=OCT, today=NOV_1, send=False, client_ids=[acme.pk]).issued[0]
    return entry, invoice.number


@pytest.fixture
def billed(ticket, acme, users):
    """engineer_acme's October entry, on acme's October invoice: (entry, invoice number)."""
    return _log_and_invoice(ticket, acme, users["engineer_acme"])


def _edit(user, ticket, entry, data, host=ACME_HOST):
    path = f"/tickets/{ticket.number}/time/{entry.pk}/edit/"
    return http(host, user).post(path, data, follow=True)


def _delete(user, ticket, entry, host=ACME_HOST):
    return http(host, user).post(f"/tickets/{ticket.number}/time/{entry.pk}/delete/", follow=True)


def _entry(acme, entry) -> TimeEntry | None:
    _in(acme)
    found = TimeEntry.objects.filter(pk=entry.pk).first()
    connection.set_schema_to_public()
    return found


def test_engineer_corrects_own_entry_and_it_is_recorded(ticket, entry, users, acme):
    response = _edit(users["engineer_acme"], ticket, entry, {"minutes": "40", "note": "diagnosis and fix"})
    assert "Time entry changed: 40 minutes." in response.content.decode()
    changed = _entry(acme, entry)
    assert (changed.minutes, changed.billable, changed.note) == (40, False, "diagnosis and fix")
    row = TimeEntryIndex.objects.get(client=acme, entry_pk=entry.pk)
    assert (row.minutes, row.billable, row.note) == (40, False, "diagnosis and fix")
    _in(acme)
    event = TicketEvent.objects.filter(ticket=ticket, kind="time").latest("pk")
    connection.set_schema_to_public()
    assert event.actor_id == users["engineer_acme"].pk
    assert (event.before, event.after) == ({"minutes": 25, "billable": True}, {"minutes": 40, "billable": False})
    history = http(ACME_HOST, users["acme_staff"]).get(f"/tickets/{ticket.number}/history/").content.decode()
    assert "changed a time entry from 25 to 40 minutes" in history


def test_engineer_deletes_own_entry(ticket, entry, users, acme):
    response = _delete(users["engineer_acme"], ticket, entry)
    page = response.content.decode()
    assert "Time entry of 25 minutes deleted." in page
    assert "No time logged." in page
    assert _entry(acme, entry) is None
    assert not TimeEntryIndex.objects.filter(client=acme, entry_pk=entry.pk).exists()
    history = http(ACME_HOST, users["engineer_acme"]).get(f"/tickets/{ticket.number}/history/").content.decode()
    assert "deleted a time entry of 25 minutes" in history


def test_bad_minutes_change_nothing(ticket, entry, users, acme):
    for minutes in ("0", "1441", "", "ten"):
        response = _edit(users["engineer_acme"], ticket, entry, {"minutes": minutes, "billable": "on"})
        assert "Enter the minutes worked (1 to 1,440)." in response.content.decode()
    response = _edit(users["engineer_acme"], ticket, entry, {"minutes": "30", "note": "n" * 301})
    assert "Keep the note to 300 characters." in response.content.decode()
    assert _entry(acme, entry).minutes == 25


def test_invoiced_entry_is_refused_and_nothing_changes(ticket, billed, users, acme):
    entry, number = billed
    refusal = f"This time entry is on invoice {number}: it can no longer be changed or deleted."
    engineer = users["engineer_acme"]
    _in(acme)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    connection.set_schema_to_public()
    assert refusal in _edit(engineer, ticket, entry, {"minutes": "5", "billable": "on"}).content.decode()
    assert refusal in _delete(engineer, ticket, entry).content.decode()
    kept = _entry(acme, entry)
    assert (kept.minutes, kept.billable, kept.note) == (90, True, "firewall lease")
    row = TimeEntryIndex.objects.get(client=acme, entry_pk=entry.pk)
    assert row.minutes == 90 and row.invoice_line.invoice.number == number
    _in(acme)
    assert TicketEvent.objects.filter(ticket=ticket).count() == events
    connection.set_schema_to_public()


def test_another_engineers_entry_is_refused(ticket, entry, users, acme):
    other = users["engineer_all"]  # covers acme too, sees the entry, but did not log it
    response = _edit(other, ticket, entry, {"minutes": "5", "billable": "on"})
    assert "Only the engineer who logged the time changes it." in response.content.decode()
    response = _delete(other, ticket, entry)
    assert "Only the engineer who logged the time deletes it." in response.content.decode()
    assert _entry(acme, entry).minutes == 25


@pytest.mark.parametrize("who", ["acme_staff", "acme_admin"])
def test_client_users_get_404(ticket, entry, users, acme, who):
    """The requester and the client admin see the ticket, but time entries are for engineers."""
    user = users[who]
    assert _edit(user, ticket, entry, {"minutes": "5", "billable": "on"}).status_code == 404
    assert _delete(user, ticket, entry).status_code == 404
    assert _entry(acme, entry).minutes == 25
    page = http(ACME_HOST, user).get(f"/tickets/{ticket.number}/").content.decode()
    assert "diagnosis" not in page and "/time/" not in page


@pytest.mark.parametrize("who", ["globex_staff", "globex_admin", "outsider", "platform"])
def test_people_off_the_site_get_404(ticket, entry, users, acme, who):
    assert _edit(users[who], ticket, entry, {"minutes": "5", "billable": "on"}).status_code == 404
    assert _delete(users[who], ticket, entry).status_code == 404
    assert _entry(acme, entry).minutes == 25


def test_entry_is_reached_only_through_its_own_ticket_and_site(ticket, entry, users, acme, globex):
    _in(acme)
    other = services.ticket_create(requester=users["acme_staff"], subject="Printer", description="<p>x</p>")
    connection.set_schema_to_public()
    engineer = users["engineer_all"]
    assert _edit(engineer, other, entry, {"minutes": "5", "billable": "on"}).status_code == 404
    assert _delete(engineer, other, entry).status_code == 404
    # On globex the same path names a globex ticket (none here), whoever asks.
    assert _delete(engineer, ticket, entry, host=GLOBEX_HOST).status_code == 404
    # The engineer who logged it does not cover globex: 404 like any stranger.
    assert _delete(users["engineer_acme"], ticket, entry, host=GLOBEX_HOST).status_code == 404
    assert _entry(acme, entry).minutes == 25


def test_anonymous_goes_to_login(ticket, entry, acme):
    for action in ("edit", "delete"):
        response = http(ACME_HOST).post(f"/tickets/{ticket.number}/time/{entry.pk}/{action}/", {"minutes": "5"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert _entry(acme, entry).minutes == 25


def test_a_post_without_the_csrf_token_is_refused(ticket, entry, users, acme):
    client = HttpClient(HTTP_HOST=ACME_HOST, enforce_csrf_checks=True)
    client.force_login(users["engineer_acme"])
    assert client.post(f"/tickets/{ticket.number}/time/{entry.pk}/delete/").status_code == 403
    assert _entry(acme, entry) is not None


def test_ticket_page_shows_controls_on_own_open_entries_only(ticket, entry, billed, users, acme):
    billed_entry, number = billed
    _in(acme)
    theirs = _log(ticket, users["engineer_all"], 10, billable=False, note="second opinion")
    connection.set_schema_to_public()
    page = http(ACME_HOST, users["engineer_acme"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'action="/tickets/{ticket.number}/time/{entry.pk}/edit/"' in page
    assert f'action="/tickets/{ticket.number}/time/{entry.pk}/delete/"' in page
    assert f"on invoice {number}" in page
    for other in (billed_entry, theirs):
        assert f"/time/{other.pk}/edit/" not in page and f"/time/{other.pk}/delete/" not in page
    assert "second opinion" in page and "not billable" in page and "2026-11-03" in page
    # The other engineer sees all three, with controls on their own entry only.
    page = http(ACME_HOST, users["engineer_all"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert f"/time/{theirs.pk}/edit/" in page
    assert f"/time/{entry.pk}/edit/" not in page and f"/time/{billed_entry.pk}/edit/" not in page


def test_ticket_page_costs_the_same_queries_for_0_or_30_time_entries(ticket, users, acme):
    """Entries (with engineers and invoice numbers) are one query, counted in the pin of
    test_ticket_views.test_ticket_page_costs_the_same_queries_for_3_or_100_messages."""
    client = http(ACME_HOST, users["engineer_acme"])
    none = _count_queries(client, f"/tickets/{ticket.number}/")
    _log_and_invoice(ticket, acme, users["engineer_all"])
    _in(acme)
    for n in range(29):
        _log(ticket, users["engineer_acme" if n % 2 else "engineer_all"], 5 + n, note=f"step {n}")
    connection.set_schema_to_public()
    assert _count_queries(client, f"/tickets/{ticket.number}/") == none
