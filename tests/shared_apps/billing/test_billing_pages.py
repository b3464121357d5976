"""Billing pages per role: client admins see their own site's invoices, platform admins all;
everyone else is refused. Query counts pinned on the list, the detail and the overview."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from shared_apps.billing.invoicing import invoice_run
from shared_apps.billing.models import Invoice, Plan, Subscription
from shared_apps.billing.services import invoice_mark_paid
from shared_apps.tenancy.services import site_suspend
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http
from tests.shared_apps.billing.conftest import NOV_1, OCT, log_time, subscribe


@pytest.fixture
def october(acme, globex, users, business):
    """acme's October invoice: plan fee and 3 h beyond the included time on two tickets."""
    subscribe(acme, business)
    subscribe(globex, business)
    first, _ = log_time(acme, users, 600, dt.date(2026, 10, 5))
    log_time(acme, users, 150, dt.date(2026, 10, 6))
    log_time(acme, users, 30, dt.date(2026, 10, 7), ticket=first)
    invoice_run(month=OCT, today=NOV_1, send=False)
    return Invoice.objects.get(client=acme, period_start=OCT)


def _get(host, user, path):
    return http(host, user).get(path)


def test_client_admin_sees_the_sites_invoices_and_usage(october, users):
    response = _get(ACME_HOST, users["acme_admin"], "/billing/")
    page = response.content.decode()
    assert response.status_code == 200
    assert october.number in page and "EUR 580.00" in page
    assert "Business" in page and "AI usage" in page and "2 of 10 used" in page


def test_invoice_page_lines_link_to_tickets_and_entries(october, users):
    page = _get(ACME_HOST, users["acme_admin"], f"/billing/invoices/{october.number}/").content.decode()
    time_line = october.lines.get(kind="time")
    assert "EUR 310.00" in page and "EUR 270.00" in page and "EUR 580.00" in page
    assert 'href="/tickets/1/"' in page and 'href="/tickets/2/"' in page
    assert f"/billing/invoices/{october.number}/lines/{time_line.pk}/" in page
    assert "3 time entries" in page
    detail = _get(ACME_HOST, users["acme_admin"], f"/billing/invoices/{october.number}/lines/{time_line.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "#1 work on 2026-10-05" in text and "630 min" in text
    assert "Note" not in text  # engineers' notes stay with the engineers


def test_pdf_and_csv(october, users):
    client = http(ACME_HOST, users["acme_admin"])
    pdf = client.get(f"/billing/invoices/{october.number}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'filename="invoice-{october.number}.pdf"' in pdf["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/billing/invoices/{october.number}/csv/").content.decode())))
    assert [(r["kind"], r["quantity"], r["amount"], r["currency"], r["tickets"]) for r in rows] == [
        ("plan", "31", "310.00", "EUR", ""),
        ("time", "180", "270.00", "EUR", "1 2"),
    ]


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_pdf_status_reads_as_on_the_page(october, users):
    client = http(ACME_HOST, users["acme_admin"])
    pdf = f"/billing/invoices/{october.number}/pdf/"
    today = timezone.localdate()
    Invoice.objects.filter(pk=october.pk).update(due_on=today + dt.timedelta(days=1))
    before_due = _pdf_text(client.get(pdf).content)
    assert "Open" in before_due and "Overdue" not in before_due
    Invoice.objects.filter(pk=october.pk).update(due_on=today - dt.timedelta(days=1))
    assert "Overdue" in _pdf_text(client.get(pdf).content)
    assert "Overdue" in client.get(f"/billing/invoices/{october.number}/").content.decode()


@pytest.mark.parametrize("role", ["acme_staff", "engineer_all", "engineer_acme"])
def test_other_acme_roles_are_refused(october, users, role):
    for path in ("/billing/", f"/billing/invoices/{october.number}/", f"/billing/invoices/{october.number}/pdf/"):
        assert _get(ACME_HOST, users[role], path).status_code == 403


def test_another_sites_admin_cannot_see_acmes_invoice(october, users):
    path = f"/billing/invoices/{october.number}/"
    assert _get(ACME_HOST, users["globex_admin"], path).status_code == 404  # not a member of acme
    assert _get(GLOBEX_HOST, users["globex_admin"], path).status_code == 404  # not globex's invoice
    assert _get(GLOBEX_HOST, users["globex_admin"], path + "csv/").status_code == 404
    line = october.lines.first()
    assert _get(GLOBEX_HOST, users["globex_admin"], f"{path}lines/{line.pk}/").status_code == 404
    assert _get(ROOT, users["acme_admin"], f"/console/billing/invoices/{october.number}/").status_code == 404


def test_platform_admin_sees_all_marks_paid_and_the_site_comes_back(october, users, acme):
    platform = http(ROOT, users["platform"])
    listing = platform.get("/console/billing/invoices/").content.decode()
    assert october.number in listing and "Globex" in listing
    page = platform.get(f"/console/billing/invoices/{october.number}/").content.decode()
    assert "http://acme." in page and "/tickets/1/" in page and "Mark paid" in page
    site_suspend(client=acme, by=None)
    Subscription.objects.filter(client=acme).update(suspended_for_nonpayment=True, status="past_due")
    response = platform.post(f"/console/billing/invoices/{october.number}/paid/", {"paid_on": "2026-11-20"})
    assert response.status_code == 302
    october.refresh_from_db()
    acme.refresh_from_db()
    assert (october.status, october.paid_on, acme.is_suspended) == ("paid", dt.date(2026, 11, 20), False)
    assert http(ROOT, users["acme_admin"]).post(f"/console/billing/invoices/{october.number}/paid/").status_code == 404


def test_mark_paid_sits_on_the_line_of_its_date_with_the_hint_below(october, users):
    page = http(ROOT, users["platform"]).get(f"/console/billing/invoices/{october.number}/").content.decode()
    row = re.search(r'<div class="d-flex flex-wrap align-items-center gap-2">(.*?)</div>', page, re.S)
    assert row, "the date and its button share one row"
    assert 'type="date"' in row.group(1) and "Mark paid</button>" in row.group(1)
    assert "Empty: today." not in row.group(1) and 'id="id_paid_on_help">Empty: today.' in page


@pytest.mark.parametrize(
    ("paid_on", "message"),
    [
        (dt.timedelta(days=1), "is in the future: record a payment once it has arrived."),
        ("31.02.2026", "Enter a valid date."),
    ],
)
def test_a_payment_is_not_recorded_in_the_future_or_on_a_bad_date(october, users, paid_on, message):
    platform = http(ROOT, users["platform"])
    value = timezone.localdate() + paid_on if isinstance(paid_on, dt.timedelta) else paid_on
    response = platform.post(f"/console/billing/invoices/{october.number}/paid/", {"paid_on": str(value)}, follow=True)
    assert message in response.content.decode()
    october.refresh_from_db()
    assert (october.status, october.paid_on) == ("open", None)


def test_overview_figures(october, users, globex):
    response = http(ROOT, users["platform"]).get("/console/billing/")
    overview = response.context["overview"]
    globex_invoice = Invoice.objects.get(client=globex)
    assert overview.outstanding == {"EUR": october.total + globex_invoice.total}
    assert overview.mrr == {"EUR": Decimal("620.00")}  # two sites on the 310.00 plan
    invoice_mark_paid(invoice=globex_invoice, by=users["platform"])
    overview = http(ROOT, users["platform"]).get("/console/billing/").context["overview"]
    # Overdue depends on today's date against the due date (15 November 2026).
    assert overview.outstanding == {"EUR": Decimal("580.00")} and overview.outstanding_count == 1


def test_suspended_site_client_admin_still_reaches_billing(october, users, acme):
    site_suspend(client=acme, by=None)
    assert _get(ACME_HOST, users["acme_admin"], "/billing/").status_code == 200
    assert _get(ACME_HOST, users["acme_admin"], "/tickets/").status_code == 403
    assert "See this site" in _get(ACME_HOST, users["acme_admin"], "/tickets/").content.decode()
    assert _get(ACME_HOST, users["acme_staff"], "/billing/").status_code == 403


def test_a_plan_cannot_have_negative_prices_or_hours(users):
    response = http(ROOT, users["platform"]).post(
        "/console/billing/plans/",
        {"name": "Credit", "slug": "credit", "monthly_fee": "-10.00", "currency": "EUR", "seats": "5",
         "included_hours": "-1", "hourly_rate": "-60.00", "ai_token_quota": "0", "ai_overage_per_1k": "-0.01"},
    )  # fmt: skip
    assert response.status_code == 400  # the form again, with its errors
    assert response.content.decode().count("Ensure this value is greater than or equal to 0.") == 4
    assert not Plan.objects.filter(slug="credit").exists()


PLAN = {"name": "Nobody", "slug": "nobody", "monthly_fee": "10.00", "currency": "EUR", "seats": "0",
        "included_hours": "0", "hourly_rate": "0", "ai_token_quota": "0", "ai_overage_per_1k": "0"}  # fmt: skip


def test_a_plan_needs_at_least_one_seat(users, business):
    # 0 would not mean "unlimited": seats.py would refuse every user, the site's first admin too.
    platform = http(ROOT, users["platform"])
    response = platform.post("/console/billing/plans/", PLAN)
    assert response.status_code == 400
    page = response.content.decode()
    assert "A plan needs at least 1 seat (its first client admin takes one)." in page and 'min="1"' in page
    assert not Plan.objects.filter(slug="nobody").exists()
    response = platform.post(f"/console/billing/plans/{business.pk}/", PLAN | {"name": "Business", "slug": "business"})
    assert response.status_code == 400 and "A plan needs at least 1 seat" in response.content.decode()
    business.refresh_from_db()
    assert business.seats == 10
    page = platform.post("/console/billing/plans/", PLAN | {"seats": "-1"}).content.decode()
    assert "A plan needs at least 1 seat" in page and "greater than or equal to 0" not in page  # one message
    assert platform.post("/console/billing/plans/", PLAN | {"seats": "1"}).status_code == 302


def test_platform_admin_creates_a_plan_and_changes_a_sites_plan_mid_month(acme, users, business):
    platform = http(ROOT, users["platform"])
    response = platform.post(
        "/console/billing/plans/",
        {"name": "Premium", "slug": "premium", "monthly_fee": "620.00", "currency": "eur", "seats": "50",
         "included_hours": "31", "hourly_rate": "60.00", "ai_token_quota": "2000000", "ai_overage_per_1k": "0.01"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    premium = Plan.objects.get(slug="premium")
    assert premium.currency == "EUR"
    subscribe(acme, business)
    response = platform.post(
        "/console/billing/subscriptions/acme/",
        {"action": "plan", "plan-plan": premium.pk, "plan-effective_on": "2026-10-11"},
    )
    assert response.status_code == 302
    invoice = invoice_run(month=OCT, today=NOV_1, send=False).issued[0]
    assert [line.description for line in invoice.lines.all()] == [
        "Business plan, 1–10 Oct 2026",
        "Premium plan, 11–31 Oct 2026",
    ]
    # October is invoiced now: its plan can no longer change.
    response = platform.post(
        "/console/billing/subscriptions/acme/",
        {"action": "plan", "plan-plan": business.pk, "plan-effective_on": "2026-10-20"},
    )
    assert response.status_code == 200 and "October 2026 is invoiced already" in response.content.decode()


# --- query counts ------------------------------------------------------------------------------


def _queries(client, path) -> int:
    client.get(path)  # warm the host cache
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_invoices_lines_or_entries(acme, globex, users, business):
    subscribe(acme, business, since=dt.date(2026, 8, 1))
    subscribe(globex, business, since=dt.date(2026, 8, 1))
    log_time(acme, users, 700, dt.date(2026, 8, 5))
    invoice_run(month=dt.date(2026, 8, 1), today=dt.date(2026, 9, 1), send=False)
    admin, platform = http(ACME_HOST, users["acme_admin"]), http(ROOT, users["platform"])
    few_invoice = Invoice.objects.get(client=acme)
    few = {
        "list": _queries(admin, "/billing/"),
        "detail": _queries(admin, f"/billing/invoices/{few_invoice.number}/"),
        "console": _queries(platform, "/console/billing/invoices/"),
        "overview": _queries(platform, "/console/billing/"),
    }
    for day in range(1, 21):
        log_time(acme, users, 90, dt.date(2026, 9, day))
    invoice_run(month=dt.date(2026, 9, 1), today=dt.date(2026, 10, 1), send=False)
    invoice_run(month=OCT, today=NOV_1, send=False)
    many_invoice = Invoice.objects.get(client=acme, period_start=dt.date(2026, 9, 1))
    many = {
        "list": _queries(admin, "/billing/"),
        "detail": _queries(admin, f"/billing/invoices/{many_invoice.number}/"),
        "console": _queries(platform, "/console/billing/invoices/"),
        "overview": _queries(platform, "/console/billing/"),
    }
    assert many == few
    # session, user, role (2), then the page's own: list 7, detail 5, console list 2, overview 3.
    assert few == {"list": 12, "detail": 10, "console": 5, "overview": 7}
