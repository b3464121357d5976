"""Overdue invoices: reminders at 7 and 14 days (once each), past due and suspended after the
grace period, reactivated by the payment. The calendar is passed in as `today`."""

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings

from shared_apps.billing.dunning import dunning_run
from shared_apps.billing.invoicing import invoice_run
from shared_apps.billing.models import Invoice, Subscription
from shared_apps.billing.services import invoice_mark_paid
from shared_apps.tenancy.services import site_suspend
from tests.conftest import ACME_HOST, http
from tests.shared_apps.billing.conftest import NOV_1, OCT, subscribe

DUE = dt.date(2026, 11, 15)  # issued 1 November, 14 days to pay


@pytest.fixture
def invoice(acme, business):
    subscribe(acme, business, billing_email="accounts@acme.example")
    return invoice_run(month=OCT, today=NOV_1, send=False).issued[0]


def _run(day, capture):
    with capture(execute=True):
        return dunning_run(today=day)


def _sub(site):
    return Subscription.objects.get(client=site)


@override_settings(BILLING_GRACE_DAYS=21)
def test_reminders_at_7_and_14_days_once_each(invoice, acme, django_capture_on_commit_callbacks):
    assert invoice.due_on == DUE
    for day in range(0, 7):
        assert _run(DUE + dt.timedelta(days=day), django_capture_on_commit_callbacks).reminders == []
    assert _run(DUE + dt.timedelta(days=7), django_capture_on_commit_callbacks).reminders == [(invoice.number, 7)]
    assert _run(DUE + dt.timedelta(days=7), django_capture_on_commit_callbacks).reminders == []  # same day again
    assert _run(DUE + dt.timedelta(days=10), django_capture_on_commit_callbacks).reminders == []
    assert _run(DUE + dt.timedelta(days=14), django_capture_on_commit_callbacks).reminders == [(invoice.number, 14)]
    assert _run(DUE + dt.timedelta(days=15), django_capture_on_commit_callbacks).reminders == []
    assert [m.subject for m in mail.outbox] == [
        f"[TenantDesk] Reminder: invoice {invoice.number} is 7 days overdue",
        f"[TenantDesk] Reminder: invoice {invoice.number} is 14 days overdue",
    ]
    assert mail.outbox[0].to == ["accounts@acme.example"]
    assert f"/billing/invoices/{invoice.number}/" in mail.outbox[0].body
    invoice.refresh_from_db()
    assert invoice.reminder_7_sent_at and invoice.reminder_14_sent_at
    assert _sub(acme).status == "active"  # still within the grace period


@override_settings(BILLING_GRACE_DAYS=21)
def test_after_the_grace_period_past_due_and_suspended_and_paying_reactivates(
    invoice, acme, users, django_capture_on_commit_callbacks
):
    _run(DUE + dt.timedelta(days=20), django_capture_on_commit_callbacks)
    acme.refresh_from_db()
    assert not acme.is_suspended
    result = _run(DUE + dt.timedelta(days=21), django_capture_on_commit_callbacks)
    assert result.suspended == ["acme"]
    acme.refresh_from_db()
    assert acme.is_suspended and _sub(acme).status == "past_due" and _sub(acme).suspended_for_nonpayment
    assert "suspended" in http(ACME_HOST, users["acme_admin"]).get("/").content.decode().lower()
    assert _run(DUE + dt.timedelta(days=22), django_capture_on_commit_callbacks).suspended == []  # once

    invoice_mark_paid(invoice=invoice, by=users["platform"], paid_on=DUE + dt.timedelta(days=23))
    acme.refresh_from_db()
    assert not acme.is_suspended
    assert (_sub(acme).status, _sub(acme).suspended_for_nonpayment) == ("active", False)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_by) == ("paid", users["platform"])


@override_settings(BILLING_GRACE_DAYS=21)
def test_paying_does_not_lift_a_suspension_the_platform_admin_made(invoice, acme, users):
    site_suspend(client=acme, by=users["platform"])
    invoice_mark_paid(invoice=invoice, by=users["platform"], paid_on=DUE)
    acme.refresh_from_db()
    assert acme.is_suspended


def test_a_paid_invoice_gets_no_reminder(invoice, users, django_capture_on_commit_callbacks):
    invoice_mark_paid(invoice=invoice, by=users["platform"], paid_on=DUE)
    assert _run(DUE + dt.timedelta(days=30), django_capture_on_commit_callbacks).reminders == []
    assert mail.outbox == []


def test_only_platform_admins_mark_paid(invoice, users):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        invoice_mark_paid(invoice=invoice, by=users["acme_admin"])
    invoice_mark_paid(invoice=invoice, by=users["platform"])
    with pytest.raises(ValidationError, match="paid already"):
        invoice_mark_paid(invoice=invoice, by=users["platform"])
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_daily_task_applies_future_plan_changes_and_ends_trials(acme, business, users):
    import datetime as dt

    from shared_apps.billing.services import subscription_plan_change, subscription_plans_apply
    from tests.shared_apps.billing.conftest import plan_make

    subscription = subscribe(acme, business, status="trial", trial_ends_on=dt.date(2030, 1, 10))
    premium = plan_make("premium")
    subscription_plan_change(subscription=subscription, plan=premium, effective_on=dt.date(2030, 1, 5),
                             by=users["platform"])  # fmt: skip
    assert _sub(acme).plan == business  # not yet
    subscription_plans_apply(today=dt.date(2030, 1, 5))
    acme.refresh_from_db()
    assert (_sub(acme).plan, acme.plan, _sub(acme).status) == (premium, premium, "trial")
    subscription_plans_apply(today=dt.date(2030, 1, 10))
    assert _sub(acme).status == "active"
