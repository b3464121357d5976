"""Host resolution, its cache, the health check, and deny-by-default on client sites."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.tenancy.services import membership_deactivate
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http


def test_healthz_answers_json_with_the_schema_on_every_known_host(acme, globex):
    assert http(ROOT).get("/healthz").json() == {"status": "ok", "schema": "public"}
    assert http(ACME_HOST).get("/healthz").json() == {"status": "ok", "schema": acme.schema_name}
    assert http(GLOBEX_HOST).get("/healthz").json() == {"status": "ok", "schema": globex.schema_name}


def test_a_warm_host_makes_no_domain_query(acme):
    client = http(ACME_HOST)
    client.get("/healthz")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/healthz").status_code == 200
    assert captured.captured_queries == []


def test_host_cache_is_dropped_when_the_site_changes(acme, users):
    staff = http(ACME_HOST, users["acme_staff"])
    assert "Acme Corp" in staff.get("/").content.decode()
    acme.name = "Acme Renamed"
    acme.save(update_fields=["name"])
    assert "Acme Renamed" in staff.get("/").content.decode()


@pytest.mark.parametrize("host", ["nosuchsite.tenantdesk.localhost", "tenant-template.tenantdesk.localhost"])
def test_unknown_site_is_a_plain_404(host, users):
    for user in (None, users["engineer_all"]):
        response = http(host, user).get("/")
        assert response.status_code == 404
        assert b"Page not found" in response.content


def test_unknown_site_404_page_gets_its_stylesheet():
    # The page links /static/... on the host it is served on, which is no site.
    response = http("nosuchsite.tenantdesk.localhost").get("/static/css/tenantdesk.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("host", ["evil.example.com", "tenantdesk.localhost.evil.com", "a b.tenantdesk.localhost"])
def test_foreign_or_malformed_host_is_refused(host):
    assert http(host).get("/").status_code in (400, 404)


def test_a_logged_in_stranger_sees_the_same_404_as_for_a_missing_site(users):
    stranger = http(ACME_HOST, users["globex_staff"]).get("/")
    missing = http("nosuchsite.tenantdesk.localhost", users["globex_staff"]).get("/")
    assert stranger.status_code == missing.status_code == 404
    assert stranger.content == missing.content
    assert b"Acme" not in stranger.content


def test_anonymous_visitor_goes_to_login_on_the_same_site():
    response = http(ACME_HOST).get("/team/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/team/"


def test_deactivated_member_loses_access_at_once(users, acme):
    staff = http(ACME_HOST, users["acme_staff"])
    assert staff.get("/").status_code == 200
    membership = acme.memberships.get(user=users["acme_staff"])
    membership_deactivate(membership=membership, by=users["acme_admin"])
    assert staff.get("/").status_code == 404


def test_engineer_loses_access_when_coverage_is_removed(users, acme):
    engineer = http(ACME_HOST, users["engineer_acme"])
    assert engineer.get("/").status_code == 200
    users["engineer_acme"].engineer_profile.sites.clear()
    assert engineer.get("/").status_code == 404


def test_security_headers_are_sent():
    response = http(ROOT).get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_engineers_on_a_site_have_a_link_back_to_their_queue(users, acme):
    queue = '<a class="nav-link" href="http://tenantdesk.localhost/queue/"'
    for who in ("engineer_acme", "engineer_all"):
        assert queue in http(ACME_HOST, users[who]).get("/tickets/").content.decode(), who
    for who in ("acme_admin", "acme_staff"):
        assert "/queue/" not in http(ACME_HOST, users[who]).get("/tickets/").content.decode(), who
