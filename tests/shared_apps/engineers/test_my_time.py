"""'My time': an engineer's week across every site, with totals per site."""

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tenant_apps.tickets import services
from tests.conftest import ROOT, http


def _log(site, users, requester, minutes, billable):
    with tenant_context(site):
        ticket = services.ticket_create(requester=users[requester], subject=f"work {minutes}", description="x")
        services.time_entry_log(
            ticket=ticket, actor=users["engineer_all"], role="engineer", minutes=minutes, billable=billable
        )


def test_week_totals_per_site_and_billable(users, acme, globex):
    _log(acme, users, "acme_staff", 30, True)
    _log(acme, users, "acme_staff", 15, False)
    _log(globex, users, "globex_staff", 45, True)
    response = http(ROOT, users["engineer_all"]).get("/my-time/")
    assert (response.context["billable"], response.context["non_billable"]) == (75, 15)
    per_site = {site.subdomain: totals for site, totals in response.context["per_site"]}
    assert per_site == {"acme": {"billable": 30, "non_billable": 15}, "globex": {"billable": 45, "non_billable": 0}}
    # Nobody else's time, and last week is empty.
    assert http(ROOT, users["engineer_acme"]).get("/my-time/").context["billable"] == 0
    last_week = (date.today() - timedelta(days=7)).isoformat()
    assert http(ROOT, users["engineer_all"]).get(f"/my-time/?week={last_week}").context["entries"] == []


def test_my_time_is_one_query_for_any_number_of_sites(users, acme, globex):
    client = http(ROOT, users["engineer_all"])
    client.get("/my-time/")
    with CaptureQueriesContext(connection) as few:
        client.get("/my-time/")
    _log(acme, users, "acme_staff", 10, True)
    _log(globex, users, "globex_staff", 10, True)
    with CaptureQueriesContext(connection) as more:
        client.get("/my-time/")
    assert len(more.captured_queries) == len(few.captured_queries)


def test_a_bad_week_falls_back_to_this_week(users):
    assert http(ROOT, users["engineer_all"]).get("/my-time/?week=not-a-date").status_code == 200


def test_rebuild_restores_time_rows(users, acme):
    from django.core.management import call_command

    from shared_apps.engineers.models import TimeEntryIndex

    _log(acme, users, "acme_staff", 20, True)
    TimeEntryIndex.objects.filter(client=acme).delete()
    call_command("ticket_index", "--rebuild", "--site", "acme")
    assert list(TimeEntryIndex.objects.filter(client=acme).values_list("minutes", flat=True)) == [20]
