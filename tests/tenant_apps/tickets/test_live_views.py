"""The live thread on the ticket page: where it starts catching up from, and the polling fallback
(GET /tickets/<n>/messages/?after=<id>&after_event=<id>) per role."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.tenancy.services import membership_grant
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.factories import user_create


@pytest.fixture
def ticket(acme, users):
    connection.set_tenant(acme)
    ticket = services.ticket_create(
        requester=users["acme_staff"], subject="VPN drops every hour", description="<p>Since Monday.</p>"
    )
    ticket.first = services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="Version?")
    ticket.note = services.ticket_reply(
        ticket=ticket, actor=users["engineer_acme"], role="engineer", body="Suspect the firewall", internal=True
    )
    ticket.answer = services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="5.2.1")
    services.ticket_transition(ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status="pending")
    connection.set_schema_to_public()
    return ticket


def _ids(html: str, kind: str) -> list[int]:
    return [int(n) for n in re.findall(rf'data-{kind}-id="(\d+)"', html)]


def _poll(user, ticket, query=""):
    return http(ACME_HOST, user).get(f"/tickets/{ticket.number}/messages/{query}")


def test_the_page_starts_the_live_thread_after_what_it_shows(ticket, users):
    page = http(ACME_HOST, users["acme_staff"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'data-last-message="{ticket.answer.pk}"' in page
    assert f'data-live-url="/ws/tickets/{ticket.number}/"' in page
    assert 'src="/static/js/live.js"' in page
    assert "<script>" not in page  # no inline scripts (CSP)
    assert 'id="ai-draft"' not in page  # the AI draft box is for engineers
    engineer_page = http(ACME_HOST, users["engineer_acme"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert 'id="ai-draft"' in engineer_page and "Use this draft" in engineer_page


def test_polling_returns_what_each_role_may_see_after_an_id(ticket, users):
    staff = _poll(users["acme_staff"], ticket, f"?after={ticket.first.pk}")
    assert staff.status_code == 200
    html = staff.content.decode()
    assert _ids(html, "message") == [ticket.answer.pk]  # not the internal note
    assert "Suspect the firewall" not in html
    assert "changed the status from" in html  # the pending event, as a thread line

    engineer = _poll(users["engineer_acme"], ticket, f"?after={ticket.first.pk}").content.decode()
    assert _ids(engineer, "message") == [ticket.note.pk, ticket.answer.pk]

    events = _ids(html, "event")
    nothing_new = _poll(users["acme_staff"], ticket, f"?after={ticket.answer.pk}&after_event={max(events)}")
    assert _ids(nothing_new.content.decode(), "message") == []
    assert _ids(nothing_new.content.decode(), "event") == []
    assert _poll(users["acme_staff"], ticket, "?after=x").status_code == 400


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("acme_staff", 200),
        ("acme_admin", 200),
        ("engineer_acme", 200),
        ("engineer_all", 200),
        ("colleague", 404),
        ("globex_staff", 404),
        ("outsider", 404),
        ("platform", 404),
    ],
)
def test_polling_access_per_role(ticket, users, acme, who, status):
    if who == "colleague":
        user = user_create("colleague@acme.example")
        membership_grant(user=user, client=acme, role="staff")
    else:
        user = users[who]
    assert _poll(user, ticket).status_code == status


def test_polling_elsewhere_and_anonymous(ticket, users):
    anonymous = http(ACME_HOST).get(f"/tickets/{ticket.number}/messages/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    # globex has no such ticket for its own people; acme's ticket is not reachable from there
    assert http(GLOBEX_HOST, users["engineer_all"]).get(f"/tickets/{ticket.number}/messages/").status_code == 404


def test_polling_costs_the_same_queries_for_few_or_many_messages(ticket, users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    path = f"/tickets/{ticket.number}/messages/?after=0"
    client.get(path)  # warm the host cache

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured.captured_queries)

    few = count()
    connection.set_tenant(acme)
    for n in range(30):
        services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body=f"more {n}")
    connection.set_schema_to_public()
    assert count() == few
