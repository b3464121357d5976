"""The demo's billing (called by `manage.py demo`, idempotent): three plans, acme on Standard and
globex on Starter since the month before last, AI use last month, last month's invoices
(globex's paid, acme's open) and some AI use this month. The engineers' time on the invoice is
what the ticket history logged last month (tenant_apps/tickets/demo.py: 13 h on acme's tickets
against the 10 h Standard includes), so every invoiced entry is on a ticket opened before it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from shared_apps.billing.invoicing import invoice_run, previous_month
from shared_apps.billing.metering import usage_add
from shared_apps.billing.models import Invoice, Plan, Subscription, SubscriptionChange, UsageRecord
from shared_apps.billing.services import invoice_mark_paid, subscription_start

PLANS = {
    "starter": {"name": "Starter", "monthly_fee": "190.00", "seats": 5, "included_hours": "2", "hourly_rate": "110.00",
                "ai_token_quota": 100_000, "ai_overage_per_1k": "0.0300"},
    "standard": {"name": "Standard", "monthly_fee": "490.00", "seats": 25, "included_hours": "10",
                 "hourly_rate": "95.00", "ai_token_quota": 500_000, "ai_overage_per_1k": "0.0200", "is_default": True},
    "premium": {"name": "Premium", "monthly_fee": "1290.00", "seats": 100, "included_hours": "40",
                "hourly_rate": "80.00", "ai_token_quota": 5_000_000, "ai_overage_per_1k": "0.0150"},
}  # fmt: skip
SITE_PLANS = {"acme": "standard", "globex": "starter"}


def demo_billing(sites: dict, *, platform_admin) -> None:
    today = timezone.localdate()
    last = previous_month(today)
    since = previous_month(last)
    plans = {}
    for slug, values in PLANS.items():
        values = {k: Decimal(v) if isinstance(v, str) and k != "name" else v for k, v in values.items()}
        plans[slug], _ = Plan.objects.update_or_create(slug=slug, defaults=values)
    for subdomain, slug in SITE_PLANS.items():
        _subscribe(sites[subdomain], plans[slug], since=since)
    for subdomain, tokens in (("acme", 612_400), ("globex", 38_900)):
        site = sites[subdomain]
        if not UsageRecord.objects.filter(client=site, provider="openai", month=last).exists():
            usage_add(client_id=site.pk, provider="openai", model="gpt-4o-mini", tokens_in=tokens * 3 // 4,
                      tokens_out=tokens // 4, day=last)  # fmt: skip
            usage_add(client_id=site.pk, provider="offline", model="", tokens_in=21_000, tokens_out=4_000, day=last)
        if not UsageRecord.objects.filter(client=site, provider="openai", month=today.replace(day=1)).exists():
            usage_add(client_id=site.pk, provider="openai", model="gpt-4o-mini", tokens_in=tokens // 3,
                      tokens_out=tokens // 9, day=today)  # fmt: skip
    invoice_run(month=last, today=today.replace(day=1), send=False, client_ids=[s.pk for s in sites.values()])
    paid = Invoice.objects.filter(client=sites["globex"], period_start=last, status=Invoice.Status.OPEN).first()
    if paid is not None:
        invoice_mark_paid(invoice=paid, by=platform_admin, paid_on=today.replace(day=1) + dt.timedelta(days=3))


@transaction.atomic
def _subscribe(site, plan: Plan, *, since: dt.date) -> None:
    subscription = Subscription.objects.filter(client=site).first()
    if subscription is None:
        subscription_start(client=site, plan=plan, started_on=since)
        return
    if Invoice.objects.filter(client=site).exists():
        return  # set up on an earlier run
    subscription.changes.all().delete()
    SubscriptionChange.objects.create(subscription=subscription, plan=plan, effective_on=since)
    subscription.plan, subscription.started_on = plan, since
    subscription.save(update_fields=["plan", "started_on", "updated_at"])
    site.plan = plan
    site.save(update_fields=["plan"])
