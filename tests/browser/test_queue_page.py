"""The engineers' queue in a real browser: a ticket of a covered site shows with its reference,
site, priority and due time, and links to the ticket on its own site. Screenshots at 1280 and
390 px in test-artifacts/ (not committed)."""

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.test_login_once import login_at_root
from tests.conftest import CAST

pytestmark = pytest.mark.browser


def test_engineer_sees_the_queue_and_opens_a_ticket_on_its_site(acme, users, page, phone, shoot, live_url):
    from tenant_apps.tickets import services
    from tests.processes import committed

    def create():
        with tenant_context(acme):
            ticket = services.ticket_create(
                requester=users["acme_staff"], subject="Printer on floor 2 offline", description="x", priority="urgent"
            )
            return ticket.number

    number = committed(create)
    login_at_root(page, live_url, CAST["engineer_all"])
    page.goto(live_url.root_url("/queue/?tab=all"))
    row = page.locator("tbody tr", has_text="Printer on floor 2 offline")
    expect(row).to_contain_text(f"ACME-{number}")
    expect(row).to_contain_text("Acme Corp")
    expect(row).to_contain_text("Urgent")
    expect(row.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(page.locator(".nav-tabs")).to_contain_text("All covered")
    shoot(page, "queue-desktop")
    small = phone(page)
    small.goto(live_url.root_url("/queue/?tab=all"))
    expect(small.locator("tbody tr", has_text="Printer on floor 2 offline")).to_contain_text("Acme Corp · New")
    shoot(small, "queue-phone")
    with page.expect_navigation():
        row.get_by_role("link").click()
    expect(page).to_have_url(live_url.site_url("acme", f"/tickets/{number}/"))
    expect(page.locator("h1")).to_contain_text("Printer on floor 2 offline")
