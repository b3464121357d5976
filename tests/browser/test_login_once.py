"""One login on the root domain is a login on every site the user belongs to (DESIGN section 2):
the session cookie is set for `.tenantdesk.localhost`, so Chromium sends it to each subdomain."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.conftest import CAST
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def login_at_root(page, live_url, email: str) -> None:
    page.goto(live_url.root_url("/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_login_at_root_is_login_on_own_site_only(page, phone, shoot, live_url):
    login_at_root(page, live_url, CAST["acme_admin"])

    # Root home: the user's sites.
    expect(page).to_have_url(live_url.root_url("/"))
    expect(page.locator("h1")).to_contain_text("Hello")
    acme_link = page.get_by_role("link", name=re.compile("Acme Corp"))
    expect(acme_link).to_be_visible()
    expect(acme_link).to_have_attribute("href", live_url.site_url("acme"))
    expect(page.get_by_role("link", name=re.compile("Globex"))).to_have_count(0)
    session = [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    assert [c["domain"] for c in session] == [settings.SESSION_COOKIE_DOMAIN]
    shoot(page, "root-home-desktop")
    small = phone(page)
    small.goto(live_url.root_url("/"))
    expect(small.get_by_role("link", name=re.compile("Acme Corp"))).to_be_visible()
    shoot(small, "root-home-phone")

    # The Acme site, without logging in again.
    page.goto(live_url.site_url("acme"))
    expect(page).to_have_url(live_url.site_url("acme"))
    expect(page.locator("h1")).to_contain_text("Acme Corp")
    expect(page.get_by_text(f"Logged in as {CAST['acme_admin']}")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)
    shoot(page, "acme-home-desktop")
    small.goto(live_url.site_url("acme"))
    expect(small.locator("h1")).to_contain_text("Acme Corp")
    shoot(small, "acme-home-phone")
    small.get_by_role("button", name="Menu").click()  # Bootstrap's JS came through WhiteNoise
    expect(small.locator(".navbar-collapse")).to_have_class(re.compile(r"\bshow\b"))  # slide-down finished
    expect(small.get_by_role("link", name="Team", exact=True)).to_be_visible()
    shoot(small, "acme-home-phone-menu")

    # Globex: logged in, but no membership there -> the same 404 as a site that does not exist.
    response = page.goto(live_url.site_url("globex"))
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.get_by_text("Globex")).to_have_count(0)  # the page does not give the site away
    shoot(page, "globex-404-desktop")


def test_anonymous_on_site_goes_to_login_on_that_host(page, live_url):
    page.goto(live_url.site_url("acme"))

    expect(page).to_have_url(live_url.site_url("acme", "/accounts/login/?next=/"))
    expect(page.locator("input[name=login]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
