"""403 and 404 pages raised by a view (PermissionDenied, Http404) on a client site, through the
real ASGI server. Django renders them in another thread than the view (`sync_to_async(...,
thread_sensitive=False)` in `convert_exception_to_response`), whose database connection is not
on the site's schema; the page's review banner then queried a table that public does not have,
and the user got a 500 instead."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_login_once import login_at_root
from tests.conftest import CAST

pytestmark = pytest.mark.browser


def test_staff_gets_not_allowed_page_for_client_admin_pages(page, shoot, live_url):
    login_at_root(page, live_url, CAST["acme_staff"])

    for path in ("/team/", "/billing/", "/reports/"):
        response = page.goto(live_url.site_url("acme", path))
        assert response.status == 403, path
        expect(page.locator("h1")).to_have_text("Not allowed")
    shoot(page, "acme-staff-403-desktop")


def test_missing_ticket_gets_not_found_page_on_the_site(page, live_url):
    login_at_root(page, live_url, CAST["acme_staff"])

    response = page.goto(live_url.site_url("acme", "/tickets/999999/"))

    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
