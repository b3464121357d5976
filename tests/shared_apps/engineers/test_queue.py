"""The engineers' queue on the root domain, read from TicketIndex across covered sites."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.engineers.models import TicketIndex
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, ROOT, http


@pytest.fixture
def tickets(acme, globex, users):
    with tenant_context(acme):
        mine = services.ticket_create(
            requester=users["acme_staff"], subject="Acme VPN", description="x", priority="low"
        )
        services.ticket_assign(
            ticket=mine, actor=users["engineer_all"], role="engineer", assignee=users["engineer_acme"]
        )
        urgent = services.ticket_create(
            requester=users["acme_admin"], subject="Acme server down", description="x", priority="urgent"
        )
    with tenant_context(globex):
        other = services.ticket_create(
            requester=users["globex_staff"], subject="Globex mail", description="x", priority="high"
        )
    return {"mine": mine, "urgent": urgent, "globex": other}


def _subjects(user, query="") -> list[str]:
    response = http(ROOT, user).get("/queue/" + query)
    assert response.status_code == 200
    return [row.subject for row in response.context["page"]]


def test_engineers_see_only_covered_sites(users, tickets):
    assert _subjects(users["engineer_acme"], "?tab=all") == ["Acme server down", "Acme VPN"]  # SLA due first
    assert set(_subjects(users["engineer_all"], "?tab=all")) == {"Acme server down", "Acme VPN", "Globex mail"}


def test_tabs_and_counts(users, tickets):
    response = http(ROOT, users["engineer_acme"]).get("/queue/")
    counts = {name: count for name, _, count in response.context["tab_labels"]}
    assert counts == {"mine": 1, "unassigned": 1, "breaching": 1, "all": 2}  # urgent: first response due in 15 min
    assert _subjects(users["engineer_acme"]) == ["Acme VPN"]
    assert _subjects(users["engineer_acme"], "?tab=unassigned") == ["Acme server down"]
    assert _subjects(users["engineer_acme"], "?tab=breaching") == ["Acme server down"]
    assert _subjects(users["engineer_all"], "?tab=all&site=globex") == ["Globex mail"]
    assert _subjects(users["engineer_all"], "?tab=all&priority=urgent") == ["Acme server down"]


def test_rows_link_straight_to_the_ticket_on_its_site(users, tickets):
    page = http(ROOT, users["engineer_all"]).get("/queue/?tab=all").content.decode()
    assert f'href="http://globex.tenantdesk.localhost/tickets/{tickets["globex"].number}/"' in page
    assert f"GLOBEX-{tickets['globex'].number}" in page


def test_removing_coverage_takes_effect_at_once(users, tickets, acme):
    engineer = users["engineer_acme"]
    assert http(ACME_HOST, engineer).get(f"/tickets/{tickets['mine'].number}/").status_code == 200
    engineer.engineer_profile.sites.clear()
    assert _subjects(engineer, "?tab=all") == []
    assert http(ACME_HOST, engineer).get(f"/tickets/{tickets['mine'].number}/").status_code == 404


@pytest.mark.parametrize("role", ["platform", "acme_admin", "acme_staff", "outsider"])
def test_the_queue_is_for_engineers_only(users, role):
    assert http(ROOT, users[role]).get("/queue/").status_code == 404


def test_anonymous_goes_to_login():
    response = http(ROOT).get("/queue/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_htmx_poll_returns_only_the_table(users, tickets):
    response = http(ROOT, users["engineer_acme"]).get("/queue/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<table" in body and "<html" not in body


def test_queue_costs_the_same_queries_with_more_sites_and_tickets(users, tickets, acme, globex):
    client = http(ROOT, users["engineer_all"])
    client.get("/queue/?tab=all")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/queue/?tab=all")
        return len(captured.captured_queries)

    few = count()
    for site in (acme, globex):
        with tenant_context(site):
            for n in range(20):
                services.ticket_create(
                    requester=users["acme_admin"], subject=f"more {n}", description="x", priority="low"
                )
    assert count() == few


def test_queue_costs_the_same_queries_at_10_and_30_sites(users, monkeypatch):
    """The number of queries per request does not depend on how many sites an engineer covers,
    on any tab, for the full page and for the htmx refresh; between the two sizes the site filter
    turns from a menu into a text box (its limit lowered from 50 to 20 to keep the test small)."""
    from shared_apps.engineers import views
    from shared_apps.engineers.selectors import QUEUE_TABS
    from shared_apps.tenancy.models import Client
    from shared_apps.tenancy.provisioning import provision_site

    monkeypatch.setattr(views, "SITE_MENU_MAX", 20)
    engineer = users["engineer_all"]
    client = http(ROOT, engineer)

    def grow_to(sites: int) -> None:
        while (count := Client.objects.exclude(schema_name__in=["public", "tenant_template"]).count()) < sites:
            site = provision_site(name=f"Site {count}", subdomain=f"many-{count}", admin_email=f"a{count}@x.example")
            with tenant_context(site):
                for priority in ("urgent", "low"):
                    ticket = services.ticket_create(requester=users["outsider"], subject="Printer", description="x",
                                                    priority=priority)  # fmt: skip
                    services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)

    def queries() -> dict[str, int]:
        counted = {}
        for tab in QUEUE_TABS:
            for kind, headers in (("page", {}), ("htmx", {"HX-Request": "true"})):
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(f"/queue/?tab={tab}", headers=headers)
                assert response.status_code == 200
                counted[f"{tab} {kind}"] = len(captured.captured_queries)
        return counted

    grow_to(10)
    client.get("/queue/")
    few = queries()
    assert '<option value="">All my sites</option>' in client.get("/queue/").content.decode()
    grow_to(30)
    assert queries() == few
    assert 'placeholder="Site (subdomain)"' in client.get("/queue/").content.decode()
    # SET search_path, session, user, the role check, the tab counts, the page of rows, and the
    # site menu (not on the htmx refresh); a tab with no rows skips the page's query.
    assert few == {"mine page": 7, "mine htmx": 6, "breaching page": 7, "breaching htmx": 6,
                   "all page": 7, "all htmx": 6, "unassigned page": 6, "unassigned htmx": 5}  # fmt: skip


def test_breached_tickets_are_breaching(users, tickets, acme):
    with tenant_context(acme):
        from tenant_apps.tickets.models import Ticket

        Ticket.objects.filter(pk=tickets["mine"].pk).update(first_response_due=timezone.now() - timedelta(minutes=5))
        services.ticket_sla_breaches_flag(now=timezone.now())
    assert TicketIndex.objects.get(client=acme, ticket_pk=tickets["mine"].pk).sla_breached
    assert "Acme VPN" in _subjects(users["engineer_acme"], "?tab=breaching")


def test_tickets_waiting_on_the_requester_are_not_breaching(users, tickets, acme):
    with tenant_context(acme):
        services.ticket_transition(ticket=tickets["urgent"], actor=users["engineer_acme"], role="engineer",
                                   new_status="pending")  # fmt: skip
    assert "Acme server down" not in _subjects(users["engineer_acme"], "?tab=breaching")
    with tenant_context(acme):
        services.ticket_transition(ticket=tickets["urgent"], actor=users["engineer_acme"], role="engineer",
                                   new_status="open")  # fmt: skip
    assert "Acme server down" in _subjects(users["engineer_acme"], "?tab=breaching")
