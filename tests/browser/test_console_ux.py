"""The console and the suspended site in a real browser, each page at 1280 px and 390 px
(test-artifacts/): the site list and a site's page, suspending after a confirmation, what each
role sees on a suspended site, the team table on a phone, an engineer's announcements and their
way back to the queue, the delete page and "Mark paid".

The live server keeps its own host cache (it is another process), so the site is suspended and
reactivated through the console in the browser, which drops that process's cache; the reason
(billing's mark) is read from the database on every request, so the test sets it directly.
"""

import datetime as dt
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import CAST
from tests.factories import PASSWORD
from tests.processes import committed

pytestmark = pytest.mark.browser


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.month - back
    return dt.date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@pytest.fixture
def overdue(world):
    """Committed: acme on a plan for six months, its invoice of three months back never paid (past
    the grace period today). Yields the invoice number; everything is put back afterwards."""
    from shared_apps.billing.invoicing import invoice_run
    from shared_apps.billing.models import Subscription
    from shared_apps.tenancy.models import Client
    from tests.shared_apps.billing.conftest import plan_make, subscribe

    today = timezone.localdate()

    def build():
        acme = Client.objects.get(subdomain="acme")
        subscription = Subscription.objects.get(client=acme)
        saved = (subscription.plan_id, subscription.started_on)
        subscribe(acme, plan_make("browser-overdue", name="Business"), since=_month_start(today, 6))
        result = invoice_run(month=_month_start(today, 3), today=_month_start(today, 2), send=False,
                             client_ids=[acme.pk])  # fmt: skip
        return acme.pk, saved, result.issued[0].number

    acme_id, saved, number = committed(build)
    yield number

    def undo():
        from shared_apps.billing.models import Invoice, InvoiceCounter, Plan, SubscriptionChange

        Invoice.objects.filter(client_id=acme_id).delete()
        InvoiceCounter.objects.all().delete()
        subscription = Subscription.objects.get(client_id=acme_id)
        subscription.changes.all().delete()
        SubscriptionChange.objects.create(subscription=subscription, plan_id=saved[0], effective_on=saved[1])
        Subscription.objects.filter(pk=subscription.pk).update(
            plan_id=saved[0], started_on=saved[1], status="active", suspended_for_nonpayment=False
        )
        Client.objects.filter(pk=acme_id).update(plan_id=saved[0])
        Plan.objects.filter(slug="browser-overdue").delete()

    committed(undo)


def _mark_nonpayment(value: bool) -> None:
    from shared_apps.billing.models import Subscription

    status = "past_due" if value else "active"  # as billing's dunning leaves it, or the platform admin
    committed(
        lambda: Subscription.objects.filter(client__subdomain="acme").update(
            suspended_for_nonpayment=value, status=status
        )
    )


def _login(page, url: str, email: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


# Tables wider than their box: `.table-responsive` scrolls them sideways inside the page.
OVERFLOWING_TABLES = """
[...document.querySelectorAll('.table-responsive')]
  .filter(box => box.scrollWidth > box.clientWidth)
  .map(box => box.scrollWidth + ' > ' + box.clientWidth)
"""


def _both_widths(page, phone, shoot, url: str, name: str, *, tables_fit: bool = False) -> None:
    """Screenshots at 1280 and 390 px; the phone page must not scroll sideways (nor, with
    `tables_fit`, any of its tables)."""
    page.goto(url)
    shoot(page, f"consoleux-{name}-1280")
    assert page.evaluate(OVERFLOWING_TABLES) == [], f"{name}: a table scrolls sideways at 1280 px"
    small = phone(page)
    small.goto(url)
    shoot(small, f"consoleux-{name}-390")
    width = small.evaluate("document.documentElement.scrollWidth")
    overflowing = small.evaluate(OVERFLOWING_TABLES)
    small.close()
    assert width <= 390, f"{name} scrolls sideways at 390 px ({width} px)"
    if tables_fit:
        assert overflowing == [], f"{name}: a table scrolls sideways at 390 px ({overflowing})"


def _suspend_acme(platform, live_url) -> None:
    platform.goto(live_url.root_url("/console/sites/acme/suspend/"))
    platform.get_by_role("button", name="Suspend Acme Corp").click()
    expect(platform.get_by_text("Acme Corp is suspended. Its users now see")).to_be_visible()


def _reactivate_acme(platform, live_url) -> None:
    platform.goto(live_url.root_url("/console/sites/acme/"))
    reactivate = platform.get_by_role("button", name="Reactivate")
    if reactivate.count():
        reactivate.click()
        expect(platform.get_by_text("Acme Corp is active again.")).to_be_visible()


def test_console_list_site_page_and_suspend_confirmation(page, phone, shoot, live_url):
    _login(page, live_url.root_url("/console/"), CAST["platform"])
    expect(page.get_by_role("heading", name=re.compile("Client sites"))).to_be_visible()
    # The address is text to copy, not a link to a site where the platform admin gets 404.
    expect(page.get_by_text("acme.tenantdesk.localhost", exact=True)).to_be_visible()
    expect(page.locator('a[href*="//acme."]')).to_have_count(0)
    _both_widths(page, phone, shoot, live_url.root_url("/console/"), "sites", tables_fit=True)
    page.goto(live_url.root_url("/console/"))
    page.get_by_role("link", name="Acme Corp").click()
    expect(page).to_have_url(live_url.root_url("/console/sites/acme/"))
    expect(page.locator("code.user-select-all")).to_have_text(live_url.site_url("acme"))
    _both_widths(page, phone, shoot, live_url.root_url("/console/sites/acme/"), "site")
    _both_widths(page, phone, shoot, live_url.root_url("/console/sites/acme/delete/"), "delete")
    expect(page.get_by_text(re.compile("to confirm"))).to_have_count(1)

    page.goto(live_url.root_url("/console/sites/acme/"))
    page.get_by_role("link", name="Suspend…").click()
    expect(page.get_by_role("heading", name="Suspend Acme Corp?")).to_be_visible()
    _both_widths(page, phone, shoot, page.url, "suspend")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_text("Suspended")).to_have_count(0)  # asking changed nothing
    try:
        _suspend_acme(page, live_url)
        row = page.locator("tr", has_text="Acme Corp")
        expect(row.locator(".badge:visible", has_text="Suspended")).to_be_visible()
        shoot(page, "consoleux-sites-suspended-1280")
        _both_widths(page, phone, shoot, live_url.root_url("/console/sites/acme/"), "site-suspended")
        expect(page.get_by_text("by a platform admin.")).to_be_visible()
    finally:
        _reactivate_acme(page, live_url)


def test_a_suspended_site_for_each_role(overdue, page, second_page, phone, shoot, live_url):
    platform, person = page, second_page
    _login(platform, live_url.root_url("/console/"), CAST["platform"])
    try:
        _suspend_acme(platform, live_url)
        _mark_nonpayment(True)

        _login(person, live_url.site_url("acme", "/"), CAST["acme_admin"])
        expect(person.get_by_role("heading", name="Acme Corp is suspended")).to_be_visible()
        expect(person.get_by_text(re.compile("unpaid past the grace period"))).to_be_visible()
        expect(person.get_by_role("link", name=f"Invoice {overdue}")).to_be_visible()
        nav = person.locator("nav.navbar")
        expect(nav.get_by_role("link", name="Tickets")).to_have_count(0)
        expect(nav.get_by_role("link", name="Billing")).to_be_visible()
        _both_widths(person, phone, shoot, live_url.site_url("acme", "/"), "suspended-admin-nonpayment")
        person.goto(live_url.site_url("acme", "/"))
        person.get_by_role("link", name="Billing and invoices").click()
        expect(person.get_by_text(re.compile("This site is suspended since"))).to_be_visible()
        expect(person.get_by_text("Site suspended")).to_be_visible()
        _both_widths(person, phone, shoot, live_url.site_url("acme", "/billing/"), "suspended-billing")
        person.get_by_role("link", name=overdue).click()
        expect(person.get_by_role("heading", name=re.compile(f"Invoice {overdue}"))).to_be_visible()
        person.context.clear_cookies()

        _login(person, live_url.site_url("acme", "/"), CAST["acme_staff"])
        expect(person.get_by_text(re.compile("billing matter"))).to_be_visible()
        expect(person.get_by_role("link", name=re.compile("Billing|invoices"))).to_have_count(0)
        _both_widths(person, phone, shoot, live_url.site_url("acme", "/"), "suspended-staff")
        person.context.clear_cookies()

        _login(person, live_url.site_url("acme", "/"), CAST["engineer_acme"])
        expect(person.get_by_text("Suspended by billing for non-payment", exact=False)).to_be_visible()
        _both_widths(person, phone, shoot, live_url.site_url("acme", "/"), "suspended-engineer")
        person.get_by_role("link", name="Back to the queue").click()
        expect(person).to_have_url(live_url.root_url("/queue/"))
        person.context.clear_cookies()

        _mark_nonpayment(False)  # a platform admin's own suspension
        _login(person, live_url.site_url("acme", "/"), CAST["acme_admin"])
        expect(person.get_by_text("Your IT provider suspended the site.", exact=False)).to_be_visible()
        _both_widths(person, phone, shoot, live_url.site_url("acme", "/"), "suspended-admin-platform")
        person.context.clear_cookies()

        _login(person, live_url.site_url("globex", "/"), CAST["globex_admin"])
        person.goto(live_url.site_url("acme", "/"))
        expect(person.get_by_text("Page not found")).to_be_visible()
        expect(person.get_by_text("suspended")).to_have_count(0)
    finally:
        _mark_nonpayment(False)
        _reactivate_acme(platform, live_url)


def test_mark_paid_sits_beside_its_date(overdue, page, phone, shoot, live_url):
    url = live_url.root_url(f"/console/billing/invoices/{overdue}/")
    _login(page, url, CAST["platform"])
    date, button = page.locator("input[name=paid_on]"), page.get_by_role("button", name="Mark paid")
    date_box, button_box = date.bounding_box(), button.bounding_box()
    middle = lambda box: box["y"] + box["height"] / 2  # noqa: E731
    assert abs(middle(date_box) - middle(button_box)) <= 2, (date_box, button_box)
    assert button_box["x"] > date_box["x"] + date_box["width"]  # beside it, not below
    _both_widths(page, phone, shoot, url, "invoice-mark-paid")


def test_team_table_fits_a_phone(page, phone, shoot, live_url):
    _login(page, live_url.site_url("acme", "/team/"), CAST["acme_admin"])
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()
    _both_widths(page, phone, shoot, live_url.site_url("acme", "/team/"), "team", tables_fit=True)


@pytest.fixture
def announcements(world):
    """Committed: one announcement for every site, one for acme and globex, one for globex alone
    (by the platform admin) and one for acme by the engineer covering acme."""
    from shared_apps.accounts.models import User
    from shared_apps.publishing import services
    from shared_apps.publishing.models import Announcement
    from shared_apps.tenancy.models import Client

    def create():
        platform = User.objects.get(email=CAST["platform"])
        engineer = User.objects.get(email=CAST["engineer_acme"])
        acme, globex = Client.objects.get(subdomain="acme"), Client.objects.get(subdomain="globex")
        window = {"starts_at": timezone.now() - timedelta(minutes=1), "ends_at": timezone.now() + timedelta(hours=2)}
        made = [
            services.announcement_create(
                actor=platform,
                role="platform",
                title=title,
                severity="warning",
                body="<p>From 22:00.</p>",
                **targets,
                **window,
            )  # fmt: skip
            for title, targets in (
                ("Mail maintenance for everyone", {"all_sites": True}),
                ("VPN change at Acme and Globex", {"sites": [acme, globex]}),
                ("Globex printer swap", {"sites": [globex]}),
            )  # fmt: skip
        ]
        made.append(services.announcement_create(actor=engineer, role="engineer", title="Acme Wi-Fi password change",
                                                 sites=[acme], **window))  # fmt: skip
        return [a.pk for a in made]

    ids = committed(create)
    yield
    committed(lambda: Announcement.objects.filter(pk__in=ids).delete())


def test_engineer_sees_the_announcements_of_their_sites_and_the_way_back_to_the_queue(
    announcements, page, phone, shoot, live_url
):
    _login(page, live_url.root_url("/announcements/"), CAST["engineer_acme"])
    expect(page.get_by_text("Mail maintenance for everyone")).to_be_visible()
    expect(page.get_by_text("VPN change at Acme and Globex")).to_be_visible()
    expect(page.get_by_role("link", name="Acme Wi-Fi password change")).to_be_visible()
    expect(page.get_by_text("Globex printer swap")).to_have_count(0)
    expect(page.get_by_role("link", name="Mail maintenance for everyone")).to_have_count(0)  # read only
    expect(page.get_by_text("Acme Corp and 1 other site")).to_be_visible()
    _both_widths(page, phone, shoot, live_url.root_url("/announcements/"), "announcements-engineer", tables_fit=True)

    page.goto(live_url.site_url("acme", "/tickets/"))
    page.locator("nav.navbar").get_by_role("link", name="Queue").click()
    expect(page).to_have_url(live_url.root_url("/queue/"))
    page.goto(live_url.site_url("acme", "/tickets/"))
    shoot(page, "consoleux-engineer-site-menu-1280")
    small = phone(page)
    small.goto(live_url.site_url("acme", "/tickets/"))
    small.get_by_role("button", name="Menu").click()
    expect(small.locator("nav.navbar").get_by_role("link", name="Queue")).to_be_visible()
    expect(small.locator("nav.navbar").get_by_role("link", name="Knowledge base")).to_be_visible()
    small.wait_for_timeout(400)  # the menu's opening transition
    shoot(small, "consoleux-engineer-site-menu-390")
