"""AI token metering: one upsert per provider call, one query for a site's month."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from shared_apps.billing.models import UsageRecord


def month_start(day: dt.date | None = None) -> dt.date:
    day = day or timezone.localdate()
    return day.replace(day=1)


def usage_add(*, client_id: int, provider: str, model: str, tokens_in: int, tokens_out: int, day=None) -> None:
    """Add one call's tokens to the site's month (atomic upsert, safe from many workers)."""
    month = month_start(day)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO public.billing_usagerecord
                (client_id, month, provider, model, calls, tokens_in, tokens_out)
            VALUES (%s, %s, %s, %s, 1, %s, %s)
            ON CONFLICT (client_id, month, provider, model) DO UPDATE SET
                calls = billing_usagerecord.calls + 1,
                tokens_in = billing_usagerecord.tokens_in + EXCLUDED.tokens_in,
                tokens_out = billing_usagerecord.tokens_out + EXCLUDED.tokens_out
            """,
            [client_id, month, provider, model[:80], max(0, tokens_in), max(0, tokens_out)],
        )


def tokens_used(client_id: int, month: dt.date | None = None, *, external_only: bool = True) -> int:
    """Tokens the site used in `month` (external providers only by default; offline is free)."""
    rows = UsageRecord.objects.filter(client_id=client_id, month=month_start(month))
    if external_only:
        rows = rows.exclude(provider="offline")
    total = rows.aggregate(total=Sum(F("tokens_in") + F("tokens_out")))["total"]
    return int(total or 0)
