"""Writes about plans, subscriptions and invoices (platform admins; the invoice run is in
invoicing.py, overdue handling in dunning.py)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.billing.models import Invoice, Plan, Subscription, SubscriptionChange


def _require_platform_admin(user) -> None:
    if user is None or not user.is_superuser:
        raise PermissionDenied


PLAN_FIELDS = [
    "name",
    "slug",
    "monthly_fee",
    "currency",
    "seats",
    "included_hours",
    "hourly_rate",
    "ai_token_quota",
    "ai_overage_per_1k",
    "is_default",
]


@transaction.atomic
def plan_save(*, plan: Plan, by) -> Plan:
    """Create or update a plan (validated by its form). One default plan at most. A price change
    applies to invoices issued from now on; issued invoices keep their own prices on each line."""
    _require_platform_admin(by)
    if plan.pk and plan.currency != Plan.objects.get(pk=plan.pk).currency and plan.subscriptions.exists():
        raise ValidationError({"currency": ["Sites are on this plan: its currency cannot change."]})
    plan.save()
    if plan.is_default:
        Plan.objects.exclude(pk=plan.pk).filter(is_default=True).update(is_default=False)
    return plan


@transaction.atomic
def subscription_start(
    *, client, plan: Plan, started_on: dt.date | None = None, trial_ends_on: dt.date | None = None, by=None
) -> Subscription:
    """The site's subscription and its first plan record (called when a site is provisioned)."""
    started_on = started_on or timezone.localdate()
    in_trial = trial_ends_on is not None and trial_ends_on > started_on
    subscription = Subscription.objects.create(
        client=client,
        plan=plan,
        started_on=started_on,
        trial_ends_on=trial_ends_on,
        status=Subscription.Status.TRIAL if in_trial else Subscription.Status.ACTIVE,
    )
    SubscriptionChange.objects.create(subscription=subscription, plan=plan, effective_on=started_on, changed_by=by)
    if client.plan_id != plan.pk:
        client.plan = plan
        client.save(update_fields=["plan"])
    return subscription


@transaction.atomic
def subscription_plan_change(*, subscription: Subscription, plan: Plan, effective_on: dt.date, by) -> Subscription:
    """Move the site to `plan` from `effective_on` (inclusive; may be mid-month: that month's
    invoice is pro rata). A month already invoiced cannot change any more."""
    _require_platform_admin(by)
    subscription = Subscription.objects.select_for_update().select_related("client", "plan").get(pk=subscription.pk)
    if plan.currency != subscription.plan.currency:
        raise ValidationError({"plan": [f"A site is billed in one currency ({subscription.plan.currency})."]})
    invoiced = Invoice.objects.filter(client_id=subscription.client_id, period_end__gte=effective_on).first()
    if invoiced is not None:
        raise ValidationError(
            {"effective_on": [f"{invoiced.period_start:%B %Y} is invoiced already ({invoiced.number})."]}
        )
    if effective_on < subscription.started_on:
        raise ValidationError({"effective_on": [f"The subscription started on {subscription.started_on}."]})
    # A later change than this one is replaced: the new plan holds from effective_on on.
    subscription.changes.filter(effective_on__gte=effective_on).delete()
    SubscriptionChange.objects.create(subscription=subscription, plan=plan, effective_on=effective_on, changed_by=by)
    if effective_on <= timezone.localdate():
        _current_plan_set(subscription, plan)
    return subscription


def _current_plan_set(subscription: Subscription, plan: Plan) -> None:
    subscription.plan = plan
    subscription.save(update_fields=["plan", "updated_at"])
    client = subscription.client
    client.plan = plan
    client.save(update_fields=["plan"])


def subscription_plans_apply(*, today: dt.date) -> int:
    """Daily: plan changes dated in the future become the current plan on their day, and trials
    that have ended become active subscriptions."""
    Subscription.objects.filter(status=Subscription.Status.TRIAL, trial_ends_on__lte=today).update(
        status=Subscription.Status.ACTIVE
    )
    count = 0
    for subscription in Subscription.objects.select_related("client", "plan"):
        change = subscription.changes.filter(effective_on__lte=today).select_related("plan").last()
        if change is not None and change.plan_id != subscription.plan_id:
            with transaction.atomic():
                _current_plan_set(subscription, change.plan)
            count += 1
    return count


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    status: str,
    billing_email: str,
    trial_ends_on: dt.date | None,
    cancelled_on: dt.date | None,
    by,
) -> Subscription:
    _require_platform_admin(by)
    if status == Subscription.Status.CANCELLED and cancelled_on is None:
        cancelled_on = timezone.localdate()
    if status != Subscription.Status.CANCELLED:
        cancelled_on = None
    subscription.status = status
    subscription.billing_email = billing_email.strip().lower()
    subscription.trial_ends_on = trial_ends_on
    subscription.cancelled_on = cancelled_on
    subscription.save(update_fields=["status", "billing_email", "trial_ends_on", "cancelled_on", "updated_at"])
    return subscription


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, by, paid_on: dt.date | None = None) -> Invoice:
    """Record the payment. When no other invoice of the site is overdue, its subscription is
    active again and, if dunning suspended the site, the site is reactivated."""
    _require_platform_admin(by)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.PAID:
        raise ValidationError(f"Invoice {invoice.number} is paid already.")
    paid_on = paid_on or timezone.localdate()
    invoice.status = Invoice.Status.PAID
    invoice.paid_on = paid_on
    invoice.paid_by = by
    invoice.save(update_fields=["status", "paid_on", "paid_by"])
    from shared_apps.billing.dunning import subscription_settle

    subscription_settle(client_id=invoice.client_id, today=paid_on)
    return invoice
