"""An engineer corrects and then deletes their time entry on the ticket page, in a real browser.
The ticket also carries another engineer's entry and an invoiced one (no controls on either).
Screenshots at 1280 px and 390 px in test-artifacts/ (not committed)."""

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.processes import committed

pytestmark = pytest.mark.browser
OCT, NOV_1 = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture
def time_ticket(world):
    """Committed (the live server is another process): an acme ticket with three entries: eng-acme's
    own (30 min), eng-all's (20 min), and eng-acme's October one, on acme's October invoice."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.billing.invoicing import invoice_run
    from shared_apps.billing.models import Invoice, Subscription
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services
    from tests.shared_apps.billing.conftest import plan_make, subscribe

    token = uuid.uuid4().hex[:8]

    def build():
        acme = Client.objects.get(subdomain="acme")
        subscription = Subscription.objects.get(client=acme)
        saved = (subscription.plan_id, subscription.started_on)
        subscribe(acme, plan_make("browser-time", name="Time", included_hours=0))
        people = {key: User.objects.get(email=CAST[key]) for key in ("acme_staff", "engineer_acme", "engineer_all")}
        with tenant_context(acme):
            ticket = services.ticket_create(
                requester=people["acme_staff"], subject=f"Laptop will not dock [{token}]", description="<p>x</p>"
            )
            log = {"ticket": ticket, "role": "engineer", "billable": True}
            services.time_entry_log(**log, actor=people["engineer_acme"], minutes=60, note="old dock firmware",
                                    work_date=OCT.replace(day=20))  # fmt: skip
            services.time_entry_log(**log, actor=people["engineer_all"], minutes=20, note="second opinion")
            services.time_entry_log(**log, actor=people["engineer_acme"], minutes=30, note=f"first look [{token}]")
        invoice_run(month=OCT, today=NOV_1, send=False, client_ids=[acme.pk])
        return saved, ticket.number, Invoice.objects.get(client=acme).number

    saved, number, invoice_number = committed(build)
    yield {"number": number, "token": token, "invoice": invoice_number}

    def undo():
        from shared_apps.billing.models import InvoiceCounter, Plan, SubscriptionChange
        from shared_apps.engineers.models import TimeEntryIndex

        acme = Client.objects.get(subdomain="acme")
        TimeEntryIndex.objects.filter(client=acme, invoice_line__isnull=False).update(invoice_line=None)
        Invoice.objects.filter(client=acme).delete()
        InvoiceCounter.objects.all().delete()  # the test database has no other invoices
        subscription = Subscription.objects.get(client=acme)
        subscription.changes.all().delete()
        plan_id, started_on = saved
        SubscriptionChange.objects.create(subscription=subscription, plan_id=plan_id, effective_on=started_on)
        Subscription.objects.filter(pk=subscription.pk).update(plan_id=plan_id, started_on=started_on)
        Client.objects.filter(pk=acme.pk).update(plan_id=plan_id)
        Plan.objects.filter(slug="browser-time").delete()

    committed(undo)


def _entry(page, text: str):
    time_card = page.locator(".card", has=page.get_by_role("heading", name="Time"))
    return time_card.locator("li.time-entry", has_text=text)


def test_engineer_corrects_and_deletes_own_time_entry(time_ticket, page, phone, shoot, live_url):
    number, token = time_ticket["number"], time_ticket["token"]
    ticket_path = f"/tickets/{number}/"
    login_on_site(page, live_url, "acme", CAST["engineer_acme"], ticket_path)

    mine, theirs, invoiced = _entry(page, token), _entry(page, "second opinion"), _entry(page, "old dock firmware")
    expect(mine).to_contain_text("30 min")
    expect(mine).to_contain_text("billable")
    # Another engineer's entry and an invoiced one: shown, with no controls.
    expect(theirs).to_contain_text("20 min")
    expect(theirs.locator("summary")).to_have_count(0)
    expect(invoiced).to_contain_text(f"on invoice {time_ticket['invoice']}")
    expect(invoiced.locator("summary")).to_have_count(0)
    expect(invoiced.locator("form")).to_have_count(0)

    mine.locator("summary", has_text="Edit or delete").click()
    expect(mine.get_by_label("Minutes")).to_have_value("30")
    shoot(page, "time-entry-edit-1280")
    small = phone(page)
    small.goto(live_url.site_url("acme", ticket_path))
    _entry(small, token).locator("summary").click()
    expect(_entry(small, token).get_by_role("button", name="Delete this entry")).to_be_visible()
    shoot(small, "time-entry-edit-390")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the ticket page scrolls sideways at 390 px ({width} px)"

    # Correct it: 45 minutes, not billable, a new note.
    mine.get_by_label("Minutes").fill("45")
    mine.get_by_label("Billable").uncheck()
    mine.get_by_label("Note").fill(f"dock firmware updated [{token}]")
    with page.expect_navigation():
        mine.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Time entry changed: 45 minutes.")
    mine = _entry(page, token)
    expect(mine).to_contain_text("45 min · not billable")
    expect(mine).to_contain_text("dock firmware updated")
    shoot(page, "time-entry-changed-1280")

    # Delete it.
    mine.locator("summary", has_text="Edit or delete").click()
    with page.expect_navigation():
        mine.get_by_role("button", name="Delete this entry").click()
    expect(page.get_by_role("status")).to_have_text("Time entry of 45 minutes deleted.")
    expect(_entry(page, token)).to_have_count(0)
    expect(_entry(page, "second opinion")).to_have_count(1)
    expect(_entry(page, "old dock firmware")).to_have_count(1)
    shoot(page, "time-entry-deleted-1280")
    small.goto(live_url.site_url("acme", ticket_path))
    expect(_entry(small, "second opinion")).to_be_visible()
    shoot(small, "time-entry-deleted-390")

    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(rf"{ticket_path}history/$"))
    expect(page.get_by_text("changed a time entry from 30 to 45 minutes")).to_be_visible()
    expect(page.get_by_text("deleted a time entry of 45 minutes")).to_be_visible()
