"""The SLA breach check's service, in a real site schema."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenant_apps.tickets import services
from tenant_apps.tickets.models import Ticket, TicketEvent

S = Ticket.Status
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


def _ticket(requester, *, priority: str = "high") -> Ticket:
    """A new ticket; priority high means first response due in 1 h, resolution in 24 h."""
    return services.ticket_create(requester=requester, subject="VPN down", description="<p>x</p>", priority=priority)


def _breach_events(ticket: Ticket) -> list[tuple]:
    events = TicketEvent.objects.filter(ticket=ticket, kind="sla_breach").order_by("pk")
    return [(event.actor_id, event.after) for event in events]


def _flags(ticket: Ticket) -> tuple[bool, bool]:
    ticket.refresh_from_db()
    return ticket.first_response_breached, ticket.resolution_breached


# --- the service ---------------------------------------------------------------------------


def test_unanswered_ticket_breaches_first_response_once_its_due_time_passes(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 59 * timedelta(minutes=1)) == []
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR) == [ticket]
    assert _flags(ticket) == (True, False)
    assert _breach_events(ticket) == [(None, {"breach": "first_response"})]


def test_answered_ticket_does_not_breach_first_response(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_reply(ticket=ticket, actor=users["engineer_all"], role="engineer", body="On it.")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR) == []
    assert _flags(ticket) == (False, False)


def test_answered_ticket_breaches_resolution_once_its_due_time_passes(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_reply(ticket=ticket, actor=users["engineer_all"], role="engineer", body="On it.")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + DAY + HOUR) == [ticket]
    assert _flags(ticket) == (False, True)
    assert _breach_events(ticket) == [(None, {"breach": "resolution"})]


def test_unanswered_ticket_past_both_due_times_gets_both_breaches(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == [ticket]
    assert _flags(ticket) == (True, True)
    assert _breach_events(ticket) == [(None, {"breach": "first_response"}), (None, {"breach": "resolution"})]


def test_pending_ticket_is_not_flagged_while_paused(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_transition(ticket=ticket, actor=users["engineer_all"], role="engineer", new_status=S.PENDING)
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is not None
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []
    assert _flags(ticket) == (False, False)


def test_paused_clock_is_skipped_even_if_the_status_says_otherwise(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=timezone.now())
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_resolved_and_closed_tickets_are_not_flagged(in_acme, users, status):
    ticket = _ticket(users["acme_staff"])
    services.ticket_transition(ticket=ticket, actor=users["engineer_all"], role="engineer", new_status=status)
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []
    assert _flags(ticket) == (False, False)
    assert _breach_events(ticket) == []


def test_ticket_without_priority_has_no_due_times_and_never_breaches(in_acme, users):
    ticket = _ticket(users["acme_staff"], priority="")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 30 * DAY) == []


def test_running_the_check_again_flags_nothing_new(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    now = ticket.created_at + 2 * HOUR
    assert services.ticket_sla_breaches_flag(now=now) == [ticket]
    assert services.ticket_sla_breaches_flag(now=now) == []
    # Later the resolution breach is new; the first-response breach is not flagged again.
    assert services.ticket_sla_breaches_flag(now=now + DAY) == [ticket]
    assert services.ticket_sla_breaches_flag(now=now + DAY) == []
    assert [after["breach"] for _, after in _breach_events(ticket)] == ["first_response", "resolution"]


def test_breach_does_not_touch_other_fields_or_reorder_queues(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    before = Ticket.objects.values().get(pk=ticket.pk)
    services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR)
    after = Ticket.objects.values().get(pk=ticket.pk)
    assert {key for key in before if before[key] != after[key]} == {"first_response_breached"}


def test_candidates_are_found_in_one_query_however_many_breach(in_acme, users):
    tickets = [_ticket(users["acme_staff"]) for _ in range(5)]
    _ticket(users["acme_staff"], priority="low")  # not due yet
    with CaptureQueriesContext(connection) as queries:
        breached = services.ticket_sla_breaches_flag(now=tickets[-1].created_at + 2 * HOUR)
    assert breached == tickets
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1, selects
    assert "FOR UPDATE" in selects[0]
    assert TicketEvent.objects.filter(kind="sla_breach").count() == 5
