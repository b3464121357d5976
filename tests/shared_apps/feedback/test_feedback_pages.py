"""Root-domain ratings pages: an engineer's own ratings across every site, and CSAT per site and
per engineer for platform admins, read from the public index (no loop over schemas)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.feedback.services import service_review_submit
from tenant_apps.reviews.services import review_submit
from tests.conftest import ROOT, http


def _count(client, path) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def rated(acme, globex, users, resolve):
    """engineer_all: 5 on acme and 2 on globex; engineer_acme: 4 on acme."""
    review_submit(ticket=resolve(acme, subject="VPN"), actor=users["acme_staff"], rating=5, comment="Fast!")
    review_submit(ticket=resolve(globex, subject="Mail"), actor=users["globex_staff"], rating=2, comment="Slow")
    ticket = resolve(acme, subject="Laptop", engineer=users["engineer_acme"])
    review_submit(ticket=ticket, actor=users["acme_staff"], rating=4)
    connection.set_schema_to_public()


def test_an_engineer_sees_their_own_ratings_on_every_site(rated, users):
    page = http(ROOT, users["engineer_all"]).get("/my-ratings/").content.decode()
    assert "Acme Corp" in page and "Globex" in page and "Fast!" in page and "Slow" in page
    assert 'data-testid="csat-share">50%<' in page
    assert "Laptop" not in page  # engineer_acme's
    assert "http://acme.tenantdesk.localhost/tickets/" in page
    other = http(ROOT, users["engineer_acme"]).get("/my-ratings/").content.decode()
    assert "Laptop" in other and "VPN" not in other and 'data-testid="csat-share">100%<' in other


def test_platform_admins_see_csat_per_site_and_per_engineer_and_service_reviews(rated, acme, users):
    service_review_submit(client=acme, author=users["acme_admin"], rating=2, body="Response times slipped.")
    page = http(ROOT, users["platform"]).get("/console/satisfaction/").content.decode()
    per_site = page.split('id="per-site"')[1].split("</section>")[0]
    assert "<td>Acme Corp</td>" in per_site and ">100%<" in per_site and ">0%<" in per_site
    per_engineer = page.split('id="per-engineer"')[1].split("</section>")[0]
    assert users["engineer_all"].email in per_engineer and ">50%<" in per_engineer
    assert "Response times slipped." in page


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("engineer_all", "/my-ratings/", 200),
        ("platform", "/my-ratings/", 404),
        ("acme_admin", "/my-ratings/", 404),
        ("outsider", "/my-ratings/", 404),
        ("platform", "/console/satisfaction/", 200),
        ("engineer_all", "/console/satisfaction/", 404),
        ("acme_admin", "/console/satisfaction/", 404),
    ],
)
def test_root_pages_per_role(users, who, path, status):
    assert http(ROOT, users[who]).get(path).status_code == status


def test_ratings_pages_cost_the_same_queries_for_few_or_many_ratings(acme, globex, users, resolve):
    engineer, platform = http(ROOT, users["engineer_all"]), http(ROOT, users["platform"])
    review_submit(ticket=resolve(acme), actor=users["acme_staff"], rating=5)
    connection.set_schema_to_public()
    few = {"mine": _count(engineer, "/my-ratings/"), "console": _count(platform, "/console/satisfaction/")}
    # mine: search_path, session, user, role, engineer check, summary, count, rows with sites
    # console: search_path, session, user, overall, per site, per engineer, service reviews
    assert few == {"mine": 8, "console": 7}
    for n in range(12):
        site, staff = (acme, "acme_staff") if n % 2 else (globex, "globex_staff")
        review_submit(ticket=resolve(site), actor=users[staff], rating=1 + n % 5)
    connection.set_schema_to_public()
    assert _count(engineer, "/my-ratings/") == few["mine"]
    assert _count(platform, "/console/satisfaction/") == few["console"]
