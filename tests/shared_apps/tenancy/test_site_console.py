"""Platform console on the root domain: list, create, suspend, reactivate, delete."""

import pytest
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from shared_apps.tenancy.models import Client
from shared_apps.tenancy.provisioning import provision_site
from tests.conftest import ACME_HOST, ROOT, http


def test_console_lists_sites_with_status_and_users(users, acme):
    response = http(ROOT, users["platform"]).get("/console/")
    assert response.status_code == 200
    sites = {site.subdomain: site for site in response.context["sites"]}
    assert set(sites) >= {"acme", "globex"} and "tenant_template" not in {s.schema_name for s in sites.values()}
    assert sites["acme"].user_count == 2  # admin + staff; engineers are not members
    assert b"Acme Corp" in response.content and b"Active" in response.content


def test_console_list_shows_the_address_as_text_and_links_to_the_sites_page(users, acme):
    """A platform admin has no access to a site's data: a link to the site only led to its 404."""
    page = http(ROOT, users["platform"]).get("/console/").content.decode()
    assert "acme.<wbr>tenantdesk.<wbr>localhost" in page  # wraps after a dot, never inside a label
    assert 'href="http://acme.' not in page and "//acme." not in page
    assert '<a class="fw-semibold" href="/console/sites/acme/">Acme Corp</a>' in page


def test_site_page_gives_the_address_figures_and_actions(users, acme):
    response = http(ROOT, users["platform"]).get("/console/sites/acme/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<code class="user-select-all fs-6">http://acme.<wbr>tenantdesk.<wbr>localhost/</code>' in page
    assert 'href="http://acme.' not in page
    assert response.context["target"].user_count == 2
    for action in ("/console/sites/acme/suspend/", "/console/sites/acme/ai/", "/console/sites/acme/export/",
                   "/console/sites/acme/delete/", "/console/billing/subscriptions/acme/"):  # fmt: skip
        assert f'href="{action}"' in page, action
    assert "Suspended" not in page


def test_site_page_says_who_suspended_it(users, acme):
    from shared_apps.billing.models import Subscription
    from shared_apps.tenancy.services import site_suspend

    platform = http(ROOT, users["platform"])
    site_suspend(client=acme, by=users["platform"])
    page = platform.get("/console/sites/acme/").content.decode()
    assert ", by a platform admin." in page
    assert 'action="/console/sites/acme/reactivate/"' in page
    Subscription.objects.filter(client=acme).update(suspended_for_nonpayment=True)
    page = platform.get("/console/sites/acme/").content.decode()
    assert "billing, for an invoice unpaid past the grace period" in page


@pytest.mark.parametrize("role", ["engineer_all", "acme_admin", "outsider"])
def test_site_page_is_only_for_platform_admins(users, acme, role):
    assert http(ROOT, users[role]).get("/console/sites/acme/").status_code == 404
    assert http(ROOT, users["platform"]).get("/console/sites/nosuchsite/").status_code == 404


def test_console_list_costs_the_same_queries_for_any_number_of_sites(users):
    client = http(ROOT, users["platform"])
    client.get("/console/")

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/console/").status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    # search_path, session, user, the sites with their member counts, their domains
    few = queries()
    assert len(few) == 5, few
    for n in range(3):
        provision_site(name=f"Extra {n}", subdomain=f"extra-{n}", admin_email=f"a@extra{n}.example")
    assert len(queries()) == len(few)


def test_platform_admin_creates_a_site_from_the_console(users, django_capture_on_commit_callbacks):
    client = http(ROOT, users["platform"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/console/", {"name": "Initech", "subdomain": "initech", "admin_email": "bill@initech.example"}
        )
    assert response.status_code == 302
    site = Client.objects.get(subdomain="initech")
    assert site.invitations.get().email == "bill@initech.example"
    assert len(mail.outbox) == 1
    assert "is ready at http://initech.tenantdesk.localhost/" in client.get("/console/").content.decode()


def test_console_shows_validation_errors_and_keeps_the_input(users):
    response = http(ROOT, users["platform"]).post(
        "/console/", {"name": "Evil", "subdomain": "a;drop", "admin_email": "x@example.com"}
    )
    assert response.status_code == 200
    assert "single hyphens" in response.content.decode()
    assert 'value="Evil"' in response.content.decode()
    assert not Client.objects.filter(name="Evil").exists()


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("tenant-template", "&#x27;tenant-template&#x27; is reserved; choose another subdomain."),
        ("pg-sales", "Subdomains starting with &#x27;pg-&#x27; are reserved (PostgreSQL keeps &#x27;pg_&#x27;"),
    ],
)
def test_console_refuses_reserved_subdomains_saying_why(users, subdomain, message):
    response = http(ROOT, users["platform"]).post(
        "/console/", {"name": "Sales", "subdomain": subdomain, "admin_email": "x@example.com"}
    )
    assert message in response.content.decode()
    assert not Client.objects.filter(name="Sales").exists()


def test_suspended_site_shows_its_users_a_suspended_page_and_keeps_data(users, acme):
    platform = http(ROOT, users["platform"])
    staff = http(ACME_HOST, users["acme_staff"])
    assert staff.get("/").status_code == 200  # warms the host cache

    assert platform.post("/console/sites/acme/suspend/").status_code == 302
    response = staff.get("/")
    assert response.status_code == 403
    assert "Acme Corp is suspended" in response.content.decode()
    assert http(ACME_HOST, users["engineer_all"]).get("/").status_code == 403
    assert http(ACME_HOST, users["outsider"]).get("/").status_code == 404  # still nothing to see
    assert Client.objects.get(pk=acme.pk).memberships.count() == 2

    assert platform.post("/console/sites/acme/reactivate/").status_code == 302
    assert staff.get("/").status_code == 200


def test_suspend_asks_first_and_says_what_happens_and_how_to_undo_it(users, acme):
    platform = http(ROOT, users["platform"])
    list_page = platform.get("/console/").content.decode()
    # The list's "Suspend" is a link to the question, not a form that suspends on the spot.
    assert 'href="/console/sites/acme/suspend/"' in list_page
    assert 'action="/console/sites/acme/suspend/"' not in list_page
    page = platform.get("/console/sites/acme/suspend/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Suspend Acme Corp?" in text and "http://acme.<wbr>tenantdesk.<wbr>localhost/" in text
    assert "suspended” page" in text and "nothing is deleted" in text and "Reactivate" in text
    assert 'method="post"' in text and "csrfmiddlewaretoken" in text
    acme.refresh_from_db()
    assert not acme.is_suspended  # looking at the question changes nothing

    response = platform.post("/console/sites/acme/suspend/")
    assert response.status_code == 302 and response["Location"] == "/console/"
    acme.refresh_from_db()
    assert acme.is_suspended
    # Asking again about a suspended site: nothing to confirm, back to the list.
    again = platform.get("/console/sites/acme/suspend/", follow=True)
    assert "Acme Corp is suspended already." in again.content.decode()


def test_suspending_needs_the_csrf_token(users, acme):
    platform = HttpClient(HTTP_HOST=ROOT, enforce_csrf_checks=True)
    platform.force_login(users["platform"])
    assert platform.post("/console/sites/acme/suspend/").status_code == 403
    acme.refresh_from_db()
    assert not acme.is_suspended


@pytest.mark.parametrize("role", ["engineer_all", "acme_admin", "outsider"])
def test_only_platform_admins_can_act_on_sites(users, acme, role):
    client = http(ROOT, users[role])
    assert client.get("/console/sites/acme/suspend/").status_code == 404
    assert client.post("/console/sites/acme/suspend/").status_code == 404
    assert client.post("/console/sites/acme/delete/", {"confirmation": "acme"}).status_code == 404
    assert client.post("/console/", {"name": "X", "subdomain": "xyz", "admin_email": "a@b.example"}).status_code == 404
    acme.refresh_from_db()
    assert not acme.is_suspended and not Client.objects.filter(subdomain="xyz").exists()


def test_delete_page_asks_to_type_the_subdomain_once(users, acme):
    page = http(ROOT, users["platform"]).get("/console/sites/acme/delete/").content.decode()
    assert page.count("to confirm") == 1
    assert '<label class="form-label" for="id_confirmation">Type <code>acme</code> to confirm</label>' in page
    assert 'name="confirmation" id="id_confirmation"' in page


def test_delete_needs_the_subdomain_typed_again(users, acme):
    client = http(ROOT, users["platform"])
    response = client.post("/console/sites/acme/delete/", {"confirmation": "Acme"})
    assert response.status_code == 200
    assert "Type the subdomain &#x27;acme&#x27; to confirm." in response.content.decode()
    assert Client.objects.filter(pk=acme.pk).exists()

    assert client.post("/console/sites/acme/delete/", {"confirmation": "acme"}).status_code == 302
    assert not Client.objects.filter(pk=acme.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [acme.schema_name])
        assert cursor.fetchone() is None
    assert http(ACME_HOST, users["acme_admin"]).get("/").status_code == 404
