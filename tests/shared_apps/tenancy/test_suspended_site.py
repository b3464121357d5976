"""A suspended site, role by role: the page says why (billing's dunning for an unpaid invoice, or
a platform admin), the menu offers only what still opens, client admins keep the billing pages,
and nobody reaches the site's data."""

import datetime as dt

import pytest
from django.utils import timezone

from shared_apps.billing.dunning import dunning_run
from shared_apps.billing.invoicing import invoice_run
from shared_apps.billing.models import Subscription
from shared_apps.tenancy.services import site_reactivate, site_suspend
from tests.conftest import ACME_HOST, http
from tests.shared_apps.billing.conftest import log_time, plan_make, subscribe

DATA_PAGES = ("/", "/tickets/", "/tickets/new/", "/kb/", "/profile/")


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.month - back
    return dt.date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@pytest.fixture
def unpaid(acme):
    """acme's invoice for the month three months back, issued on the 1st after it and never paid:
    today it is past the grace period, whatever today is."""
    subscribe(acme, plan_make("business"), since=_month_start(timezone.localdate(), 6))
    month = _month_start(timezone.localdate(), 3)
    return invoice_run(month=month, today=_month_start(timezone.localdate(), 2), send=False).issued[0]


@pytest.fixture
def by_billing(unpaid, acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert dunning_run(today=timezone.localdate()).suspended == ["acme"]
    acme.refresh_from_db()
    assert acme.is_suspended and Subscription.objects.get(client=acme).suspended_for_nonpayment
    return unpaid


@pytest.fixture
def by_platform(acme, users):
    return site_suspend(client=acme, by=users["platform"])


def _page(who, users, path="/"):
    response = http(ACME_HOST, users[who]).get(path)
    return response.status_code, response.content.decode(errors="replace")


# --- suspended by billing (non-payment) ---------------------------------------------------


def test_client_admin_learns_which_invoices_to_pay_and_reaches_them(by_billing, users):
    status, page = _page("acme_admin", users)
    assert status == 403
    assert "Acme Corp is suspended" in page
    assert "unpaid past the grace period" in page and "reopens by itself" in page
    assert f'href="/billing/invoices/{by_billing.number}/"' in page and "EUR" in page
    assert "Billing and invoices" in page
    for path in ("/billing/", f"/billing/invoices/{by_billing.number}/", f"/billing/invoices/{by_billing.number}/pdf/"):
        assert _page("acme_admin", users, path)[0] == 200, path
    for path in DATA_PAGES + ("/team/", "/reports/"):
        assert _page("acme_admin", users, path)[0] == 403, path


def test_staff_learn_it_is_a_billing_matter_for_their_administrators(by_billing, users):
    status, page = _page("acme_staff", users)
    assert status == 403
    assert "billing matter" in page and "administrators" in page
    assert by_billing.number not in page and "/billing/" not in page  # no invoices, no link to them
    assert _page("acme_staff", users, "/billing/")[0] == 403
    for path in DATA_PAGES:
        assert _page("acme_staff", users, path)[0] == 403, path


def test_engineer_gets_the_plain_reason_and_the_way_back_to_the_queue(by_billing, users):
    status, page = _page("engineer_acme", users)
    assert status == 403
    assert "Suspended by billing for non-payment" in page
    assert 'href="http://tenantdesk.localhost/queue/"' in page
    for path in DATA_PAGES + ("/billing/",):
        assert _page("engineer_acme", users, path)[0] == 403, path


@pytest.mark.parametrize("who", ["globex_admin", "globex_staff", "outsider", "platform"])
def test_people_of_other_sites_see_the_plain_404_not_the_suspension(by_billing, users, who):
    for path in ("/", "/billing/", f"/billing/invoices/{by_billing.number}/"):
        status, page = _page(who, users, path)
        assert status == 404 and "suspended" not in page.lower() and "Acme" not in page, path


def test_menus_offer_only_what_still_opens(by_billing, users):
    _, admin = _page("acme_admin", users, "/billing/")
    assert 'href="/billing/"' in admin
    for blocked in ('href="/tickets/"', 'href="/team/"', 'href="/kb/"', 'href="/profile/"', "/accounts/password/"):
        assert blocked not in admin, blocked
    _, staff = _page("acme_staff", users)
    assert 'href="/tickets/"' not in staff and 'href="/profile/"' not in staff
    assert "All my sites" in staff and "Log out" in staff


def test_billing_page_shows_the_suspension_and_why(by_billing, users):
    status, page = _page("acme_admin", users, "/billing/")
    assert status == 200
    assert "This site is suspended since" in page and "Site suspended" in page
    assert "unpaid past the grace period" in page and "reopens by itself" in page
    assert "Past due" in page and "Overdue" in page
    assert "Manage the team" not in page  # the team page does not open while suspended


def test_invoice_page_of_a_suspended_site_does_not_link_to_tickets(by_billing, users, acme):
    site_reactivate(client=acme, by=None)
    log_time(acme, users, 900, _month_start(timezone.localdate(), 1) + dt.timedelta(days=3))
    invoice = invoice_run(month=_month_start(timezone.localdate(), 1), today=timezone.localdate(), send=False).issued[0]
    site_suspend(client=acme, by=None)
    status, page = _page("acme_admin", users, f"/billing/invoices/{invoice.number}/")
    assert status == 200 and "#1" in page and 'href="/tickets/1/"' not in page


def test_paying_brings_the_site_back_for_everyone(by_billing, users):
    from shared_apps.billing.services import invoice_mark_paid

    invoice_mark_paid(invoice=by_billing, by=users["platform"])
    for who in ("acme_admin", "acme_staff", "engineer_acme"):
        assert _page(who, users)[0] == 200, who
    _, page = _page("acme_admin", users, "/billing/")
    assert "This site is suspended" not in page and 'href="/tickets/"' in page


# --- suspended by a platform admin ----------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("acme_admin", "Your IT provider suspended the site."),
        ("acme_staff", "Your IT provider suspended the site."),
        ("engineer_acme", "Suspended by a platform admin."),
    ],
)
def test_a_platform_suspension_says_so_and_does_not_blame_billing(by_platform, users, who, says):
    status, page = _page(who, users)
    assert status == 403 and says in page
    assert "grace period" not in page and "billing matter" not in page and "non-payment" not in page


def test_a_platform_suspension_still_lets_the_client_admin_read_the_invoices(by_platform, users):
    status, page = _page("acme_admin", users, "/billing/")
    assert status == 200 and "Your IT provider suspended it." in page and "Site suspended" in page
    assert _page("acme_staff", users, "/billing/")[0] == 403
    assert _page("acme_admin", users, "/tickets/")[0] == 403


def test_a_platform_suspension_replaces_a_stale_billing_mark(unpaid, acme, users):
    """A platform admin reactivated a site that billing suspended, then suspends it for their own
    reason: the page must not say non-payment, and paying must not lift it."""
    site_suspend(client=acme, by=None)
    Subscription.objects.filter(client=acme).update(suspended_for_nonpayment=True)
    site_reactivate(client=acme, by=users["platform"])
    site_suspend(client=acme, by=users["platform"])
    assert not Subscription.objects.get(client=acme).suspended_for_nonpayment
    assert "Your IT provider suspended the site." in _page("acme_admin", users)[1]
