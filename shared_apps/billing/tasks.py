"""Billing's periodic tasks (public schema; beat entries in saas/settings.py) and its emails."""

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from shared_apps.billing.models import Invoice


@shared_task
def invoice_run_monthly() -> int:
    """On the 1st: invoice the month that just ended."""
    from shared_apps.billing.invoicing import invoice_run, previous_month

    today = timezone.localdate()
    return len(invoice_run(month=previous_month(today), today=today).issued)


@shared_task
def dunning_daily() -> int:
    from shared_apps.billing.dunning import dunning_run
    from shared_apps.billing.services import subscription_plans_apply

    today = timezone.localdate()
    subscription_plans_apply(today=today)
    result = dunning_run(today=today)
    return len(result.reminders) + len(result.suspended)


def invoice_recipients(invoice: Invoice) -> list[str]:
    """The billing email given for the site, else its active client admins."""
    from shared_apps.billing.models import Subscription
    from shared_apps.tenancy.models import Membership

    email = invoice.billing_email or (
        Subscription.objects.filter(client_id=invoice.client_id).values_list("billing_email", flat=True).first()
    )
    if email:
        return [email]
    admins = Membership.objects.filter(client_id=invoice.client_id, role=Membership.Role.ADMIN, is_active=True)
    return sorted(admins.values_list("user__email", flat=True))


def _send(invoice: Invoice, template: str, **extra) -> None:
    from shared_apps.tenancy.links import site_url

    recipients = invoice_recipients(invoice)
    if not recipients:
        return
    context = {"invoice": invoice, "url": site_url(invoice.client, f"/billing/invoices/{invoice.number}/"), **extra}
    body = render_to_string(f"billing/email/{template}.txt", context)
    subject, _, message = body.partition("\n\n")
    send_mail(subject=subject.strip(), message=message, from_email=None, recipient_list=recipients)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invoice_send(invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("client").filter(pk=invoice_id).first()
    if invoice is not None:
        _send(invoice, "invoice")


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invoice_reminder_send(invoice_id: int, days: int) -> None:
    from django.conf import settings

    invoice = Invoice.objects.select_related("client").filter(pk=invoice_id).first()
    if invoice is not None and invoice.status == Invoice.Status.OPEN:
        _send(invoice, "reminder", days=days, grace_days=settings.BILLING_GRACE_DAYS)
