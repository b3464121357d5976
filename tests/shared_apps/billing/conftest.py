"""Billing test data: plans with round numbers, a site subscribed since January, time logged
through the tickets services on given days."""

import datetime as dt
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from shared_apps.billing.models import Plan, Subscription, SubscriptionChange
from tenant_apps.tickets import services as tickets

OCT = dt.date(2026, 10, 1)
NOV_1 = dt.date(2026, 11, 1)


def plan_make(slug: str, **fields) -> Plan:
    values = {
        "name": slug.title(),
        "monthly_fee": Decimal("310.00"),
        "currency": "EUR",
        "seats": 10,
        "included_hours": Decimal("10.00"),
        "hourly_rate": Decimal("90.00"),
        "ai_token_quota": 100_000,
        "ai_overage_per_1k": Decimal("0.0200"),
    }
    values.update(fields)
    return Plan.objects.create(slug=slug, **values)


def subscribe(site, plan: Plan, *, since: dt.date = dt.date(2026, 1, 1), **fields) -> Subscription:
    """Put `site` on `plan` since `since` (replacing the subscription provisioning made)."""
    subscription = Subscription.objects.get(client=site)
    subscription.changes.all().delete()
    for name, value in {"plan": plan, "started_on": since, **fields}.items():
        setattr(subscription, name, value)
    subscription.save()
    SubscriptionChange.objects.create(subscription=subscription, plan=plan, effective_on=since)
    site.plan = plan
    site.save(update_fields=["plan"])
    return subscription


def log_time(site, users, minutes: int, day: dt.date, *, billable: bool = True, ticket=None, engineer="engineer_all"):
    """Log `minutes` on a (new) ticket of `site` dated `day`; returns (ticket, entry)."""
    with tenant_context(site):
        if ticket is None:
            requester = users[f"{site.subdomain}_staff"]
            ticket = tickets.ticket_create(requester=requester, subject=f"work on {day}", description="x")
        entry = tickets.time_entry_log(
            ticket=ticket, actor=users[engineer], role="engineer", minutes=minutes, billable=billable, work_date=day
        )
    return ticket, entry


@pytest.fixture
def business(db) -> Plan:
    return plan_make("business")


@pytest.fixture
def platform_admin(users):
    return users["platform"]
