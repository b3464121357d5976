"""Billing pages in a real browser: a client admin's billing page and invoice (also as printed),
the platform admin's overview and invoice, each at 1280 px and 390 px (test-artifacts/)."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import CAST
from tests.factories import PASSWORD
from tests.processes import committed

pytestmark = pytest.mark.browser
OCT, NOV_1 = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture
def invoices(world):
    """Committed (the live server is another process): acme on a plan since January with time on
    three tickets and AI use in October, globex too; October invoiced, globex's paid."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.billing.invoicing import invoice_run
    from shared_apps.billing.metering import usage_add
    from shared_apps.billing.models import Invoice, Subscription
    from shared_apps.billing.services import invoice_mark_paid
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services
    from tests.shared_apps.billing.conftest import plan_make, subscribe

    def build():
        acme, globex = Client.objects.get(subdomain="acme"), Client.objects.get(subdomain="globex")
        saved = {s.client_id: (s.plan_id, s.started_on) for s in Subscription.objects.filter(client__in=[acme, globex])}
        plan = plan_make("browser-business", name="Business")
        subscribe(acme, plan)
        subscribe(globex, plan)
        engineer, staff = User.objects.get(email=CAST["engineer_all"]), User.objects.get(email=CAST["acme_staff"])
        with tenant_context(acme):
            for day, subject, minutes in ((3, "VPN drops every hour", 420), (9, "Printer jams on floor 2", 150),
                                          (21, "New laptop for the CFO", 240)):  # fmt: skip
                ticket = services.ticket_create(requester=staff, subject=subject, description="<p>x</p>")
                services.time_entry_log(ticket=ticket, actor=engineer, role="engineer", minutes=minutes,
                                        billable=True, work_date=OCT.replace(day=day))  # fmt: skip
        usage_add(client_id=acme.pk, provider="openai", model="gpt", tokens_in=98_000, tokens_out=34_500, day=OCT)
        invoice_run(month=OCT, today=NOV_1, send=False, client_ids=[acme.pk, globex.pk])
        platform = User.objects.get(email=CAST["platform"])
        invoice_mark_paid(invoice=Invoice.objects.get(client=globex), by=platform, paid_on=dt.date(2026, 11, 4))
        return saved, Invoice.objects.get(client=acme).number

    saved, number = committed(build)
    yield number

    def undo():
        from shared_apps.billing.models import InvoiceCounter, Plan, SubscriptionChange, UsageRecord
        from shared_apps.engineers.models import TimeEntryIndex

        TimeEntryIndex.objects.filter(invoice_line__isnull=False).update(invoice_line=None)
        Invoice.objects.all().delete()
        InvoiceCounter.objects.all().delete()
        UsageRecord.objects.filter(month=OCT).delete()
        for client_id, (plan_id, started_on) in saved.items():
            subscription = Subscription.objects.get(client_id=client_id)
            subscription.changes.all().delete()
            SubscriptionChange.objects.create(subscription=subscription, plan_id=plan_id, effective_on=started_on)
            Subscription.objects.filter(pk=subscription.pk).update(plan_id=plan_id, started_on=started_on)
            Client.objects.filter(pk=client_id).update(plan_id=plan_id)
        Plan.objects.filter(slug="browser-business").delete()

    committed(undo)


def _login(page, url: str, email: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(url)


def _both_widths(page, phone, shoot, url: str, name: str) -> None:
    page.goto(url)
    shoot(page, f"{name}-1280")
    small = phone(page)
    small.goto(url)
    shoot(small, f"{name}-390")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name} scrolls sideways at 390 px ({width} px)"


def test_client_admin_billing_and_invoice(invoices, page, phone, shoot, live_url):
    _login(page, live_url.site_url("acme", "/billing/"), CAST["acme_admin"])
    expect(page.get_by_role("link", name=invoices)).to_be_visible()
    _both_widths(page, phone, shoot, live_url.site_url("acme", "/billing/"), "billing-site")
    url = live_url.site_url("acme", f"/billing/invoices/{invoices}/")
    _both_widths(page, phone, shoot, url, "billing-invoice")
    page.goto(url)
    expect(page.get_by_text("Engineer time beyond included hours, October 2026")).to_be_visible()
    expect(page.get_by_role("link", name="#1")).to_have_attribute("href", "/tickets/1/")
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    shoot(page, "billing-invoice-print")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="3 time entries").click()
    expect(page.get_by_role("heading", name=re.compile("Engineer time"))).to_be_visible()
    shoot(page, "billing-invoice-line-1280")


def test_platform_admin_overview_and_invoice(invoices, page, phone, shoot, live_url):
    _login(page, live_url.root_url("/console/billing/"), CAST["platform"])
    expect(page.get_by_text("Monthly recurring revenue")).to_be_visible()
    _both_widths(page, phone, shoot, live_url.root_url("/console/billing/"), "billing-overview")
    _both_widths(
        page, phone, shoot, live_url.root_url(f"/console/billing/invoices/{invoices}/"), "billing-console-invoice"
    )
    _both_widths(page, phone, shoot, live_url.root_url("/console/billing/plans/"), "billing-plans")
    _both_widths(page, phone, shoot, live_url.root_url("/console/billing/subscriptions/acme/"), "billing-subscription")
