"""The console's refusal to make a client user an engineer, and a site's team page with a pending
invitation and its "Cancel invitation" button, in a real browser at 1280 px and 390 px
(screenshots in test-artifacts/).

The live server commits what these tests write; the `invitation_reset` fixture takes the
invitation away again afterwards.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.factories import PASSWORD
from tests.processes import committed

pytestmark = pytest.mark.browser

INVITED = "new.colleague@acme.example"


def _no_sideways_scroll(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name} scrolls sideways at 390 px ({width} px)"


def _login_on_root(page, live_url, next_path: str) -> None:
    page.goto(live_url.root_url(next_path))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(CAST["platform"])
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(live_url.root_url(next_path))


def _invite_engineer(page, email: str) -> None:
    form = page.locator("form", has=page.locator("input[name=email]"))
    form.locator("input[name=full_name]").fill("Alice Archer")
    form.locator("input[name=email]").fill(email)
    with page.expect_navigation():
        form.get_by_role("button", name="Invite").click()


def test_console_refuses_to_make_a_client_user_an_engineer(page, phone, shoot, live_url):
    _login_on_root(page, live_url, "/console/engineers/")
    _invite_engineer(page, CAST["acme_staff"])
    expect(page.locator(".invalid-feedback")).to_contain_text(
        f"{CAST['acme_staff']} belongs to a member of the client site Acme Corp. Engineers are the IT company's "
        "own staff: invite them with their work address"
    )
    expect(page.locator("input[name=email]")).to_have_value(CAST["acme_staff"])
    shoot(page, "console-engineer-refusal-1280")

    small = phone(page)
    small.goto(live_url.root_url("/console/engineers/"))
    _invite_engineer(small, CAST["acme_staff"])
    expect(small.locator(".invalid-feedback")).to_contain_text("belongs to a member of the client site Acme Corp")
    shoot(small, "console-engineer-refusal-390")
    _no_sideways_scroll(small, "the engineers page")

    def is_engineer():
        from shared_apps.engineers.models import EngineerProfile

        return EngineerProfile.objects.filter(user__email=CAST["acme_staff"]).exists()

    assert not committed(is_engineer)


@pytest.fixture
def invitation_reset():
    yield

    def reset():
        from shared_apps.tenancy.models import Invitation

        Invitation.objects.filter(email=INVITED).delete()

    committed(reset)


def test_team_page_with_a_pending_invitation_and_cancelling_it(invitation_reset, page, phone, shoot, live_url):
    login_on_site(page, live_url, "acme", CAST["acme_admin"], "/team/")
    form = page.locator("form", has=page.locator("input[name='invite-email']"))
    form.locator("input[name='invite-email']").fill(INVITED)
    with page.expect_navigation():
        form.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {INVITED}.")
    cancel = page.get_by_role("button", name=f"Cancel invitation to {INVITED}")
    expect(cancel).to_be_visible()
    shoot(page, "team-pending-invitation-1280")

    small = phone(page)
    small.goto(live_url.site_url("acme", "/team/"))
    expect(small.get_by_role("button", name=f"Cancel invitation to {INVITED}")).to_be_visible()
    shoot(small, "team-pending-invitation-390")
    _no_sideways_scroll(small, "the team page")

    # Sending it again says the first link is gone.
    form.locator("input[name='invite-email']").fill(INVITED)
    with page.expect_navigation():
        form.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("the earlier one no longer works")

    with page.expect_navigation():
        page.get_by_role("button", name=f"Cancel invitation to {INVITED}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"The invitation to {INVITED} is cancelled: its link no longer works and its seat is free."
    )
    expect(page.get_by_role("button", name=f"Cancel invitation to {INVITED}")).to_have_count(0)
    shoot(page, "team-invitation-cancelled-1280")

    def pending():
        from shared_apps.tenancy.models import Invitation

        return Invitation.objects.filter(email=INVITED).count()

    assert committed(pending) == 0
