"""Ticket pages on acme, as each role: requester, colleague, client admin, engineers, strangers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.tenancy.services import membership_grant
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Ticket
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.factories import user_create


def _in(site):
    connection.set_tenant(site)


@pytest.fixture
def colleague(acme):
    user = user_create("colleague@acme.example", full_name="Cole League")
    membership_grant(user=user, client=acme, role="staff")
    return user


@pytest.fixture
def ticket(acme, users):
    _in(acme)
    ticket = services.ticket_create(
        requester=users["acme_staff"], subject="VPN drops every hour", description="<p>Since Monday.</p>"
    )
    services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="Which client version?")
    services.ticket_reply(
        ticket=ticket, actor=users["engineer_acme"], role="engineer", body="Suspect the firewall lease", internal=True
    )
    connection.set_schema_to_public()
    return ticket


def _page(user, path, host=ACME_HOST):
    return http(host, user).get(path)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("acme_staff", 200),  # the requester
        ("acme_admin", 200),
        ("engineer_acme", 200),
        ("engineer_all", 200),
        ("colleague", 404),  # same site, not shared with them
        ("globex_staff", 404),
        ("outsider", 404),
        ("platform", 404),
    ],
)
def test_ticket_page_per_role(ticket, users, colleague, who, status):
    user = colleague if who == "colleague" else users[who]
    for path in (f"/tickets/{ticket.number}/", f"/tickets/{ticket.number}/history/"):
        assert _page(user, path).status_code == status, (who, path)
    if status == 404:
        response = http(ACME_HOST, user).post(f"/tickets/{ticket.number}/reply/", {"body": "let me in"})
        assert response.status_code == 404
        assert not ticket.messages.filter(body__contains="let me in").exists()


def test_engineer_not_covering_the_site_gets_404(users, globex):
    _in(globex)
    other = services.ticket_create(requester=users["globex_staff"], subject="Globex VPN", description="x")
    connection.set_schema_to_public()
    assert _page(users["engineer_acme"], f"/tickets/{other.number}/", host=GLOBEX_HOST).status_code == 404
    assert _page(users["engineer_all"], f"/tickets/{other.number}/", host=GLOBEX_HOST).status_code == 200


def test_anonymous_goes_to_login(ticket):
    response = _page(None, f"/tickets/{ticket.number}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_same_number_on_another_site_is_another_ticket(ticket, users, globex):
    _in(globex)
    other = services.ticket_create(requester=users["globex_staff"], subject="Globex thing", description="x")
    connection.set_schema_to_public()
    assert other.number == ticket.number
    assert "VPN drops" in _page(users["engineer_all"], f"/tickets/{ticket.number}/").content.decode()
    page = _page(users["engineer_all"], f"/tickets/{other.number}/", host=GLOBEX_HOST).content.decode()
    assert "Globex thing" in page and "VPN drops" not in page


def test_internal_notes_reach_engineers_only(ticket, users):
    assert "Suspect the firewall lease" in _page(users["engineer_acme"], f"/tickets/{ticket.number}/").content.decode()
    for who in ("acme_staff", "acme_admin"):
        page = _page(users[who], f"/tickets/{ticket.number}/").content.decode()
        assert "Which client version?" in page
        assert "firewall" not in page and "Internal note" not in page
        history = _page(users[who], f"/tickets/{ticket.number}/history/").content.decode()
        assert "internal note" not in history
    # ...nor in search results
    assert ticket.number not in _numbers(users["acme_staff"], "?q=firewall")
    assert ticket.number in _numbers(users["acme_staff"], "?q=client+version")


def _numbers(user, query=""):
    response = _page(user, "/tickets/" + query)
    return [t.number for t in response.context["page"]]


def test_lists_show_own_shared_or_all(ticket, users, colleague):
    assert _numbers(users["acme_staff"]) == [ticket.number]
    assert _numbers(colleague) == []
    assert _numbers(users["acme_admin"]) == [ticket.number]
    assert _numbers(users["engineer_acme"]) == [ticket.number]
    response = http(ACME_HOST, users["acme_staff"]).post(
        f"/tickets/{ticket.number}/share/", {"email": colleague.email}, follow=True
    )
    assert "can now see and follow this ticket" in response.content.decode()
    assert _numbers(colleague) == [ticket.number]
    assert _page(colleague, f"/tickets/{ticket.number}/").status_code == 200


def test_requester_opens_a_ticket_and_bad_input_keeps_their_text(users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    response = client.post("/tickets/new/", {"subject": "", "description": "My long story"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert "My long story" in response.content.decode()
    response = client.post("/tickets/new/", {"subject": "Laptop", "description": "x" * 200_000})
    assert "at most 100000 characters" in response.content.decode()
    response = client.post("/tickets/new/", {"subject": "Laptop fan", "description": "<p>Loud</p><script>x()</script>"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Laptop fan" in page and "<p>Loud</p>" in page and "<script>x()" not in page


def test_conversation_end_to_end(ticket, users):
    requester = http(ACME_HOST, users["acme_staff"])
    engineer = http(ACME_HOST, users["engineer_acme"])
    assert requester.post(f"/tickets/{ticket.number}/reply/", {"body": "Version 5.2"}).status_code == 302
    engineer.post(f"/tickets/{ticket.number}/time/", {"minutes": "20", "billable": "on", "note": "remote session"})
    engineer.post(f"/tickets/{ticket.number}/status/", {"status": "resolved"})
    page = requester.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Version 5.2" in page and "Confirm resolution" in page and "remote session" not in page
    requester.post(f"/tickets/{ticket.number}/status/", {"status": "closed"})
    history = requester.get(f"/tickets/{ticket.number}/history/").content.decode()
    assert "changed the status from <em>resolved</em> to <em>closed</em>" in history


def test_refused_moves_are_messages_not_errors(ticket, users):
    response = http(ACME_HOST, users["acme_staff"]).post(
        f"/tickets/{ticket.number}/status/", {"status": "resolved"}, follow=True
    )
    assert response.status_code == 200
    assert "Your role cannot move a ticket from open to resolved." in response.content.decode()
    response = http(ACME_HOST, users["acme_staff"]).post(
        f"/tickets/{ticket.number}/time/", {"minutes": "5"}, follow=True
    )
    assert "Only engineers log time." in response.content.decode()


def test_empty_reply_keeps_the_page_and_says_why(ticket, users):
    response = http(ACME_HOST, users["acme_staff"]).post(f"/tickets/{ticket.number}/reply/", {"body": "<p></p>"})
    assert response.status_code == 400
    assert "Write something first." in response.content.decode()


def test_engineer_triages_assigns_and_merges(ticket, users, acme):
    engineer = http(ACME_HOST, users["engineer_all"])
    response = engineer.post(
        f"/tickets/{ticket.number}/update/",
        {"priority": "urgent", "category": "", "assignee": str(users["engineer_acme"].pk)},
        follow=True,
    )
    assert "Ticket updated." in response.content.decode()
    _in(acme)
    refreshed = Ticket.objects.get(pk=ticket.pk)
    assert (refreshed.priority, refreshed.assignee_id) == ("urgent", users["engineer_acme"].pk)
    dup = services.ticket_create(requester=users["acme_admin"], subject="VPN again", description="same")
    connection.set_schema_to_public()
    engineer.post(f"/tickets/{dup.number}/merge/", {"into": ticket.number})
    page = engineer.get(f"/tickets/{dup.number}/").content.decode()
    assert f'Closed as a duplicate of <a href="/tickets/{ticket.number}/">ACME-{ticket.number}</a>' in page


def test_engineers_filter_and_sort_by_sla(ticket, users, acme):
    _in(acme)
    urgent = services.ticket_create(
        requester=users["acme_admin"], subject="Server down", description="x", priority="urgent"
    )
    low = services.ticket_create(requester=users["acme_admin"], subject="Mouse", description="x", priority="low")
    connection.set_schema_to_public()
    engineer = users["engineer_acme"]
    assert _numbers(engineer, "?sort=sla")[:2] == [urgent.number, low.number]
    assert _numbers(engineer, "?priority=urgent") == [urgent.number]
    assert _numbers(engineer, "?sla=due4h") == [urgent.number]  # 15 minutes to first response
    assert _numbers(engineer, "?assignee=none&status=open") == [ticket.number]


def _count_queries(client, path) -> int:
    client.get(path)  # warm: the host -> site lookup is cached after the first request
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def _bulk_tickets(acme, requester, count: int, prefix: str) -> None:
    _in(acme)
    for n in range(count):
        services.ticket_create(requester=requester, subject=f"{prefix}{n}", description="x", priority="low")
    connection.set_schema_to_public()


def test_list_costs_the_same_queries_for_5_or_500_tickets(users, acme):
    staff, engineer = http(ACME_HOST, users["acme_staff"]), http(ACME_HOST, users["engineer_acme"])
    _bulk_tickets(acme, users["acme_staff"], 5, "T")
    few = {"staff": _count_queries(staff, "/tickets/"), "engineer": _count_queries(engineer, "/tickets/?sort=sla")}
    _bulk_tickets(acme, users["acme_staff"], 495, "U")
    assert _count_queries(staff, "/tickets/") == few["staff"]
    assert _count_queries(engineer, "/tickets/?sort=sla") == few["engineer"]


def test_ticket_page_costs_the_same_queries_for_3_or_100_messages(ticket, users, acme):
    client = http(ACME_HOST, users["engineer_acme"])
    # search_path, session, user, role, ticket (+ category, people), files of the opening message,
    # messages with authors, their files, engineers for the assignee menu, categories (count +
    # rows), time entries with engineers, the AI's categorization, the AI answer being waited for,
    # the last event id (where the live thread catches up from), the knowledge-base panel (linked
    # articles, related articles)
    few = _count_queries(client, f"/tickets/{ticket.number}/")
    assert few == 17
    _in(acme)
    for n in range(97):  # 100 messages in all
        services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body=f"more {n}")
    connection.set_schema_to_public()
    assert _count_queries(client, f"/tickets/{ticket.number}/") == few
