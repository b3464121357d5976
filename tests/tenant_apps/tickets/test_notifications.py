"""Email notifications: who gets what, after commit, and never anything internal."""

import re

import pytest
from django.core import mail
from django.db import connection

from tenant_apps.profiles.services import notification_preferences_set
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, http


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


@pytest.fixture
def notify(django_capture_on_commit_callbacks):
    """Run the after-commit work of the block (the eager tasks), and return the emails sent."""

    class Capture:
        def __enter__(self):
            mail.outbox.clear()
            self._ctx = django_capture_on_commit_callbacks(execute=True)
            self._ctx.__enter__()
            return mail.outbox

        def __exit__(self, *exc):
            return self._ctx.__exit__(*exc)

    return Capture


def _to(outbox) -> set[str]:
    return {address for email in outbox for address in email.to}


def test_new_ticket_goes_to_the_engineers_covering_the_site(in_acme, users, notify):
    with notify() as outbox:
        ticket = services.ticket_create(requester=users["acme_staff"], subject="Wi-Fi down", description="<p>Help</p>")
    assert _to(outbox) == {users["engineer_all"].email, users["engineer_acme"].email}
    email = outbox[0]
    assert email.subject == f"[ACME-{ticket.number}] Wi-Fi down"
    assert f"http://acme.tenantdesk.localhost/tickets/{ticket.number}/" in email.body
    html = email.alternatives[0][0]
    assert "Open the ticket" in html and "Help" in html


def test_replies_go_to_the_other_side_and_notes_to_nobody(in_acme, users, notify):
    ticket = services.ticket_create(requester=users["acme_staff"], subject="Laptop", description="x")
    services.ticket_assign(ticket=ticket, actor=users["engineer_all"], role="engineer", assignee=users["engineer_acme"])
    with notify() as outbox:
        services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="Restart it please")
    assert _to(outbox) == {users["acme_staff"].email}
    assert "Restart it please" in outbox[0].body
    with notify() as outbox:
        services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="Did, still broken")
    assert _to(outbox) == {users["engineer_acme"].email}  # the assignee only
    with notify() as outbox:
        services.ticket_reply(
            ticket=ticket, actor=users["engineer_acme"], role="engineer", body="BIOS password is 1234", internal=True
        )
    assert outbox == []


def test_status_changes_reach_the_requester(in_acme, users, notify):
    ticket = services.ticket_create(requester=users["acme_staff"], subject="Mouse", description="x")
    with notify() as outbox:
        services.ticket_transition(ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status="resolved")
    assert _to(outbox) == {users["acme_staff"].email}
    assert "The ticket is now resolved" in outbox[0].body
    with notify() as outbox:  # their own confirmation does not email them
        services.ticket_transition(ticket=ticket, actor=users["acme_staff"], role="staff", new_status="closed")
    assert outbox == []


def test_each_person_can_turn_a_kind_off(in_acme, users, notify):
    notification_preferences_set(user=users["engineer_all"], enabled=["reply", "status", "sla_breach"])
    with notify() as outbox:
        services.ticket_create(requester=users["acme_staff"], subject="Printer", description="x")
    assert _to(outbox) == {users["engineer_acme"].email}


def test_hostile_html_never_reaches_an_email(in_acme, users, notify):
    ticket = services.ticket_create(requester=users["acme_staff"], subject="x", description="x")
    with notify() as outbox:
        services.ticket_reply(
            ticket=ticket,
            actor=users["engineer_acme"],
            role="engineer",
            body='<p>Hi</p><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:x()">y</a>',
        )
    html = outbox[0].alternatives[0][0].lower()
    for bad in ("<script", "onerror", "javascript:", "<img"):
        assert bad not in html


def test_sla_breach_tells_the_assignee(in_acme, users, notify):
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.tickets.models import Ticket

    ticket = services.ticket_create(requester=users["acme_staff"], subject="Server", description="x", priority="urgent")
    services.ticket_assign(ticket=ticket, actor=users["engineer_all"], role="engineer", assignee=users["engineer_acme"])
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due=timezone.now() - timedelta(minutes=1))
    with notify() as outbox:
        services.ticket_sla_breaches_flag(now=timezone.now())
    assert _to(outbox) == {users["engineer_acme"].email}
    assert "SLA breached (first response target missed)" in outbox[0].body


def test_preferences_page(users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    page = client.get("/profile/notifications/").content.decode()
    assert "Someone replies on a ticket I follow" in page
    # Bootstrap's class on every box, or a long label wraps under its checkbox.
    boxes = re.findall(r"<input[^>]*type=\"checkbox\"[^>]*>", page)
    assert len(boxes) == 6
    assert all('class="form-check-input"' in box for box in boxes)
    client.post("/profile/notifications/", {"enabled": ["status"]})
    connection.set_tenant(acme)
    from tenant_apps.profiles.models import Profile

    assert set(Profile.objects.get(user=users["acme_staff"]).notifications_off) == {
        "new_ticket",
        "reply",
        "sla_breach",
        "review_request",
        "low_rating",
    }
