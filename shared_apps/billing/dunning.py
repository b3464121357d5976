"""Overdue invoices, once a day: reminders 7 and 14 days after the due date (one email each,
recorded on the invoice), then after `BILLING_GRACE_DAYS` the subscription goes past due and
the site is suspended (`site_suspend`, the foundation's "suspended" page). Paying reactivates
(`subscription_settle`). Everything takes `today`, so tests move the calendar, not the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.billing.models import Invoice, Subscription

REMINDER_DAYS = (7, 14)


@dataclass
class DunningResult:
    reminders: list[tuple[str, int]] = field(default_factory=list)  # (invoice number, days)
    suspended: list[str] = field(default_factory=list)  # subdomains


def dunning_run(*, today: dt.date) -> DunningResult:
    result = DunningResult()
    overdue = Invoice.objects.filter(status=Invoice.Status.OPEN, due_on__lt=today).select_related("client")
    for invoice in overdue.order_by("due_on", "pk"):
        late = (today - invoice.due_on).days
        for days in REMINDER_DAYS:
            if late >= days and _reminder_mark(invoice, days):
                result.reminders.append((invoice.number, days))
                break  # one email per invoice per day, even when the 7th and 14th were missed
        if late >= settings.BILLING_GRACE_DAYS and _suspend_for_nonpayment(invoice.client):
            result.suspended.append(invoice.client.subdomain)
    return result


@transaction.atomic
def _reminder_mark(invoice: Invoice, days: int) -> bool:
    """Record the reminder and queue its email after commit; False when it was sent already
    (two runs on one day send it once)."""
    fieldname = f"reminder_{days}_sent_at"
    updated = Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN, **{f"{fieldname}__isnull": True})
    if not updated.update(**{fieldname: timezone.now()}):
        return False
    from shared_apps.billing.tasks import invoice_reminder_send

    transaction.on_commit(lambda: invoice_reminder_send.delay(invoice.pk, days))
    return True


@transaction.atomic
def _suspend_for_nonpayment(client) -> bool:
    from shared_apps.tenancy.services import site_suspend

    subscription = Subscription.objects.select_for_update().filter(client_id=client.pk).first()
    if subscription is None or subscription.status == Subscription.Status.CANCELLED:
        return False
    changed = False
    if subscription.status != Subscription.Status.PAST_DUE:
        subscription.status = Subscription.Status.PAST_DUE
        subscription.save(update_fields=["status", "updated_at"])
        changed = True
    if not client.is_suspended:
        site_suspend(client=client, by=None)
        subscription.suspended_for_nonpayment = True
        subscription.save(update_fields=["suspended_for_nonpayment", "updated_at"])
        changed = True
    return changed


def subscription_settle(*, client_id: int, today: dt.date) -> None:
    """After a payment: when nothing of the site is past the grace period any more, a past-due
    subscription is active again, and a site that dunning suspended (only that) is reactivated.
    Call inside the payment's transaction."""
    from shared_apps.tenancy.services import site_reactivate

    still_late = Invoice.objects.filter(
        client_id=client_id,
        status=Invoice.Status.OPEN,
        due_on__lte=today - dt.timedelta(days=settings.BILLING_GRACE_DAYS),
    ).exists()
    if still_late:
        return
    subscription = Subscription.objects.select_for_update().select_related("client").filter(client_id=client_id).first()
    if subscription is None:
        return
    if subscription.status == Subscription.Status.PAST_DUE:
        subscription.status = Subscription.Status.ACTIVE
        subscription.save(update_fields=["status", "updated_at"])
    if subscription.suspended_for_nonpayment:
        if subscription.client.is_suspended:
            site_reactivate(client=subscription.client, by=None)
        subscription.suspended_for_nonpayment = False
        subscription.save(update_fields=["suspended_for_nonpayment", "updated_at"])
