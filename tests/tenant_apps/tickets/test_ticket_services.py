"""Ticket services and selectors, in a real site schema (acme)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from tenant_apps.tickets import selectors, services
from tenant_apps.tickets.models import Category, Message, SLAPolicy, Ticket, TicketCounter, TicketEvent

S = Ticket.Status


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


@pytest.fixture
def ticket(in_acme, users):
    return services.ticket_create(
        requester=users["acme_staff"], subject="Printer on 2nd floor", description="<p>It jams.</p>", priority="high"
    )


def test_new_site_has_sla_defaults_and_a_counter(in_acme):
    assert SLAPolicy.objects.get(priority="urgent").first_response_minutes == 15
    assert TicketCounter.objects.get().last_number == 0


def test_create_numbers_tickets_in_order_and_sets_sla_due_times(in_acme, users):
    first = services.ticket_create(requester=users["acme_staff"], subject="A", description="x", priority="high")
    second = services.ticket_create(requester=users["acme_staff"], subject="B", description="y")
    assert (first.number, second.number) == (1, 2)
    assert first.first_response_due - first.created_at == timedelta(hours=1)
    assert first.resolution_due - first.created_at == timedelta(hours=24)
    assert second.first_response_due is None  # no priority yet: the AI or an engineer sets it
    assert TicketEvent.objects.filter(ticket=first, kind="created").count() == 1


def test_a_rolled_back_creation_gives_its_number_back(in_acme, users):
    with pytest.raises(ValidationError):
        services.ticket_create(requester=users["acme_staff"], subject="ok", description="<script>x</script>")
    assert services.ticket_create(requester=users["acme_staff"], subject="ok", description="fine").number == 1


@pytest.mark.parametrize(
    ("subject", "description", "field"),
    [
        ("  ", "body", "subject"),
        ("x" * 201, "body", "subject"),
        ("ok", "", "description"),
        ("ok", "x" * 100_001, "description"),
    ],
)
def test_bad_input_is_refused_with_a_message(in_acme, users, subject, description, field):
    with pytest.raises(ValidationError) as caught:
        services.ticket_create(requester=users["acme_staff"], subject=subject, description=description)
    assert field in caught.value.message_dict


@pytest.mark.parametrize(
    "payload",
    [
        "<p>hi<script>alert(1)</script></p>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<svg onload="alert(1)"><circle/></svg>',
        '<iframe src="https://evil.example"></iframe>',
    ],
)
def test_hostile_html_is_neutralized_on_save(in_acme, users, payload):
    ticket = services.ticket_create(requester=users["acme_staff"], subject="x", description=payload + "<p>ok</p>")
    stored = Ticket.objects.get(pk=ticket.pk).description.lower()
    for bad in ("<script", "onerror", "javascript:", "style=", "<svg", "onload", "<iframe"):
        assert bad not in stored
    assert "<p>ok</p>" in stored


def test_engineer_reply_is_the_first_response_and_opens_the_ticket(ticket, users):
    services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="On my way")
    ticket.refresh_from_db()
    assert ticket.status == S.OPEN and ticket.first_responded_at is not None


def test_internal_notes_are_for_engineers_and_hidden_from_clients(ticket, users):
    with pytest.raises(PermissionDenied):
        services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="x", internal=True)
    services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="toner", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # a note is not a response
    assert selectors.message_list_for(ticket=ticket, role="staff").count() == 0
    assert selectors.message_list_for(ticket=ticket, role="admin").count() == 0
    assert selectors.message_list_for(ticket=ticket, role="engineer").count() == 1


def test_pending_pauses_the_sla_clock_and_a_requester_reply_resumes_it(ticket, users):
    due = ticket.resolution_due
    services.ticket_transition(ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status=S.PENDING)
    Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=timezone.now() - timedelta(hours=2))
    services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="Here you go")
    ticket.refresh_from_db()
    assert ticket.status == S.OPEN and ticket.sla_paused_at is None
    assert abs((ticket.resolution_due - due) - timedelta(hours=2)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("start", "target", "role"),
    [(S.NEW, S.RESOLVED, "staff"), (S.OPEN, S.PENDING, "admin"), (S.NEW, S.OPEN, "staff")],
)
def test_clients_cannot_make_engineer_moves(ticket, users, start, target, role):
    Ticket.objects.filter(pk=ticket.pk).update(status=start)
    with pytest.raises(PermissionDenied):
        services.ticket_transition(ticket=ticket, actor=users["acme_staff"], role=role, new_status=target)


def test_illegal_transition_is_a_clear_error(ticket, users):
    with pytest.raises(ValidationError, match="A ticket that is new cannot become new"):
        services.ticket_transition(ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status=S.NEW)


def test_requester_confirms_resolution_and_can_reopen_within_seven_days(ticket, users):
    engineer, staff = users["engineer_acme"], users["acme_staff"]
    services.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status=S.RESOLVED)
    services.ticket_transition(ticket=ticket, actor=staff, role="staff", new_status=S.CLOSED)
    services.ticket_transition(ticket=ticket, actor=staff, role="staff", new_status=S.OPEN)
    services.ticket_transition(ticket=ticket, actor=staff, role="staff", new_status=S.CLOSED)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=8))
    with pytest.raises(ValidationError, match="more than 7 days ago"):
        services.ticket_transition(ticket=ticket, actor=staff, role="staff", new_status=S.OPEN)
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "after__status"))
    assert kinds == [
        ("created", "new"),
        ("status", "resolved"),
        ("status", "closed"),
        ("status", "open"),
        ("status", "closed"),
    ]


def test_priority_change_recomputes_due_times_and_is_audited(ticket, users):
    services.ticket_update(ticket=ticket, actor=users["engineer_acme"], role="engineer", priority="urgent",
                           category=Category.objects.get(slug="hardware"))  # fmt: skip
    ticket.refresh_from_db()
    assert ticket.first_response_due - ticket.created_at == timedelta(minutes=15)
    event = TicketEvent.objects.get(ticket=ticket, kind="updated")
    assert event.before == {"priority": "high", "category": None}
    assert event.after == {"priority": "urgent", "category": "hardware"}


def test_assign_only_to_engineers_covering_the_site(ticket, users):
    with pytest.raises(ValidationError, match="does not cover this site"):
        services.ticket_assign(
            ticket=ticket, actor=users["engineer_all"], role="engineer", assignee=users["acme_staff"]
        )
    services.ticket_assign(ticket=ticket, actor=users["engineer_all"], role="engineer", assignee=users["engineer_acme"])
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == users["engineer_acme"].pk


def test_time_entries_and_merge(ticket, users):
    engineer = users["engineer_acme"]
    other = services.ticket_create(requester=users["acme_admin"], subject="Printer again", description="same")
    services.time_entry_log(ticket=ticket, actor=engineer, role="engineer", minutes=25, billable=True)
    with pytest.raises(ValidationError):
        services.time_entry_log(ticket=ticket, actor=engineer, role="engineer", minutes=0, billable=True)
    services.ticket_reply(ticket=other, actor=users["acme_admin"], role="admin", body="still broken")
    services.ticket_merge(duplicate=other, into=ticket, actor=engineer, role="engineer")
    other.refresh_from_db()
    assert other.status == S.CLOSED and other.duplicate_of_id == ticket.pk
    assert Message.objects.filter(ticket=other).count() == 1  # its conversation stays readable
    assert ticket.time_entries.get().minutes == 25


def test_visibility_own_shared_all(ticket, users):
    staff, admin = users["acme_staff"], users["acme_admin"]
    assert selectors.ticket_get_for(user=staff, role="staff", number=ticket.number) == ticket
    assert selectors.ticket_get_for(user=admin, role="admin", number=ticket.number) == ticket
    assert selectors.ticket_get_for(user=users["engineer_acme"], role="engineer", number=ticket.number) == ticket
    theirs = services.ticket_create(requester=admin, subject="Admin's own", description="x")
    with pytest.raises(Http404):
        selectors.ticket_get_for(user=staff, role="staff", number=theirs.number)
    with pytest.raises(Http404):
        selectors.ticket_get_for(user=staff, role="staff", number=9999)
    services.ticket_share(ticket=theirs, actor=admin, role="admin", colleague=staff)  # admin shares with staff
    assert set(selectors.ticket_visible_to(user=staff, role="staff")) == {ticket, theirs}
    assert list(selectors.ticket_visible_to(user=users["globex_staff"], role=None)) == []


def test_sharing_only_with_members_of_the_same_site(ticket, users):
    with pytest.raises(ValidationError, match="not a member of this site"):
        services.ticket_share(ticket=ticket, actor=users["acme_staff"], role="staff", colleague=users["globex_staff"])


def test_reopen_window_is_a_setting(ticket, users, settings):
    settings.TICKET_REOPEN_DAYS = 30
    services.ticket_transition(ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status=S.CLOSED)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=8))
    services.ticket_transition(ticket=ticket, actor=users["acme_staff"], role="staff", new_status=S.OPEN)
    assert Ticket.objects.get(pk=ticket.pk).status == S.OPEN
