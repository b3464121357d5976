"""Monthly invoice run benchmark: `invoice_run()` for 1,000 sites with 100 time entries each
(default `--sites 1000 --entries 100`), target under 60 s; then the same month again (must issue
nothing: the run is idempotent) and the queries per site.

What invoice_run reads is public: subscriptions and their plan history, `TimeEntryIndex` (one
row per time entry of every site, written by the tickets services with the entry) and
`UsageRecord`. It never visits a tenant schema, so this benchmark builds those public rows as the
services would have written them, for client rows without schemas (building 1,000 schemas would
only measure provisioning, benchmarks/provision.py):

- sites: `Client` rows (subdomains ib-00001, ...), each with a `Subscription` since January on
  one of three plans (with fees, included hours, rates, AI quota and price), and its first
  `SubscriptionChange`; 10 % change plan mid-month (on the 11th to 20th);
- time: `--entries` rows of `TimeEntryIndex` per site, by 20 engineers, on 30 tickets, 15-240
  minutes each, 80 % billable, dated across the invoiced month; 5 % dated in the month before
  (logged late, so on this invoice);
- AI: `UsageRecord` rows for half of the sites (one external provider, sometimes over quota,
  and the offline provider);
- `VACUUM (ANALYZE)` before the measurement.

Run from the project root against a database of its own:

    createdb -h 127.0.0.1 -U postgres tenantdesk_billbench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_billbench DEBUG=0 \
        DJANGO_SETTINGS_MODULE=saas.settings
    .venv/bin/python -m benchmarks.invoice_run --sites 1000 --entries 100
    dropdb -h 127.0.0.1 -U postgres tenantdesk_billbench

The script runs `migrate_schemas --shared` itself. Invoices of an earlier run are deleted first,
so it can be repeated. The invoice emails are queued as in production (in-process here, no broker:
rendered into memory with the locmem backend).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time
from decimal import Decimal

import django

PREFIX = "ib-"
SEED = 20261121
MONTH = dt.date(2026, 10, 1)
TODAY = dt.date(2026, 11, 1)
TARGET_S = 60.0


def log(message: str) -> None:
    print(message, flush=True)


def build(sites: int, entries: int) -> None:
    from django.db import connection, transaction

    from shared_apps.accounts.models import User
    from shared_apps.billing.models import Plan, Subscription, SubscriptionChange, UsageRecord
    from shared_apps.engineers.models import TimeEntryIndex
    from shared_apps.tenancy.models import Client

    rng = random.Random(SEED)
    plans = [
        Plan.objects.update_or_create(slug=f"bench-{slug}", defaults=values)[0]
        for slug, values in (
            ("basic", {"name": "Bench Basic", "monthly_fee": Decimal("190.00"), "included_hours": Decimal("5"),
                       "hourly_rate": Decimal("95.00"), "ai_token_quota": 200_000,
                       "ai_overage_per_1k": Decimal("0.0300")}),
            ("business", {"name": "Bench Business", "monthly_fee": Decimal("490.00"), "included_hours": Decimal("15"),
                          "hourly_rate": Decimal("85.00"), "ai_token_quota": 1_000_000,
                          "ai_overage_per_1k": Decimal("0.0200")}),
            ("premium", {"name": "Bench Premium", "monthly_fee": Decimal("1290.00"), "included_hours": Decimal("40"),
                         "hourly_rate": Decimal("75.00"), "ai_token_quota": 5_000_000,
                         "ai_overage_per_1k": Decimal("0.0125")}),
        )
    ]  # fmt: skip
    engineers = []
    for index in range(20):
        user, _ = User.objects.get_or_create(email=f"eng{index:02d}@billbench.test")
        engineers.append(user.pk)
    existing = Client.objects.filter(subdomain__startswith=PREFIX).count()
    if existing >= sites:
        log(f"reusing {existing:,} sites")
        return
    log(f"building {sites - existing:,} sites x {entries} entries ...")
    started = time.perf_counter()
    days = (TODAY - MONTH).days
    for start in range(existing, sites, 100):
        with transaction.atomic():
            batch = [
                Client(schema_name=f"ib_{n:05d}", name=f"Bench site {n:05d}", subdomain=f"{PREFIX}{n:05d}",
                       plan=plans[n % 3])
                for n in range(start, min(start + 100, sites))
            ]  # fmt: skip
            Client.objects.bulk_create(batch)
            subs = Subscription.objects.bulk_create(
                Subscription(client=c, plan=c.plan, started_on=dt.date(2026, 1, 1)) for c in batch
            )
            changes, rows, usage = [], [], []
            for client, sub in zip(batch, subs, strict=True):
                changes.append(SubscriptionChange(subscription=sub, plan=sub.plan, effective_on=dt.date(2026, 1, 1)))
                if rng.random() < 0.10:
                    other = plans[(plans.index(sub.plan) + 1) % 3]
                    on = MONTH.replace(day=rng.randint(11, 20))
                    changes.append(SubscriptionChange(subscription=sub, plan=other, effective_on=on))
                for pk in range(1, entries + 1):
                    late = rng.random() < 0.05
                    day = (
                        MONTH - dt.timedelta(days=rng.randint(1, 5))
                        if late
                        else MONTH + dt.timedelta(rng.randrange(days))
                    )
                    number = rng.randint(1, 30)
                    rows.append(
                        TimeEntryIndex(client=client, entry_pk=pk, engineer_id=rng.choice(engineers),
                                       ticket_number=number, ticket_subject=f"Ticket {number}",
                                       minutes=rng.randrange(15, 241, 5), billable=rng.random() < 0.8, work_date=day)
                    )  # fmt: skip
                if rng.random() < 0.5:
                    tokens = int(sub.plan.ai_token_quota * rng.uniform(0.2, 1.6))
                    usage.append(UsageRecord(client=client, month=MONTH, provider="openai", model="gpt-4o-mini",
                                             calls=tokens // 900, tokens_in=tokens * 3 // 4,
                                             tokens_out=tokens // 4))  # fmt: skip
                    usage.append(UsageRecord(client=client, month=MONTH, provider="offline", model="",
                                             calls=50, tokens_in=40_000, tokens_out=8_000))  # fmt: skip
            SubscriptionChange.objects.bulk_create(changes)
            TimeEntryIndex.objects.bulk_create(rows, batch_size=5000)
            UsageRecord.objects.bulk_create(usage)
        if (start + 100) % 200 == 0:
            log(f"  {start + 100:,} sites ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def reset() -> None:
    """Forget invoices of an earlier run (and unlock their entries), so the run starts clean."""
    from django.db import transaction

    from shared_apps.billing.models import Invoice, InvoiceCounter, InvoiceLine
    from shared_apps.engineers.models import TimeEntryIndex

    with transaction.atomic():
        TimeEntryIndex.objects.filter(invoice_line__isnull=False).update(invoice_line=None)
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        InvoiceCounter.objects.all().delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test.utils import override_settings

    from shared_apps.billing.invoicing import invoice_run
    from shared_apps.billing.models import Invoice, InvoiceLine
    from shared_apps.engineers.models import TimeEntryIndex

    call_command("migrate_schemas", "--shared", verbosity=0)
    build(args.sites, args.entries)
    reset()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    load = "load average: " + ", ".join(f"{value:.2f}" for value in os.getloadavg())
    queries = [0]

    def counter(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            first = invoice_run(month=MONTH, today=TODAY)
            elapsed = time.perf_counter() - started
            first_queries = queries[0]
            queries[0] = 0
            started = time.perf_counter()
            again = invoice_run(month=MONTH, today=TODAY)
            again_elapsed = time.perf_counter() - started
    # Without a broker the invoice emails are rendered and sent in-process, inside the run (three
    # queries each); with Redis the worker does that. The same run without them:
    reset()
    again_queries = queries[0]
    queries[0] = 0
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        quiet = invoice_run(month=MONTH, today=TODAY, send=False)
        quiet_elapsed = time.perf_counter() - started
    totals = Invoice.objects.aggregate(n=Count("pk"), total=Sum("total"))
    lines = InvoiceLine.objects.values("kind").annotate(n=Count("pk")).order_by("kind")
    billed = TimeEntryIndex.objects.filter(invoice_line__isnull=False).count()
    log(f"before the run, {load} ({os.cpu_count()} CPUs)")
    log(f"sites: {args.sites:,}, time entries: {TimeEntryIndex.objects.count():,} ({billed:,} billed and locked)")
    log(f"invoice_run {MONTH:%Y-%m}: {len(first.issued):,} invoices in {elapsed:.1f} s "
        f"({elapsed / max(1, len(first.issued)) * 1000:.1f} ms per site), {first_queries:,} queries "
        f"({first_queries / max(1, len(first.issued)):.1f} per site); target {TARGET_S:.0f} s: "
        f"{'met' if elapsed < TARGET_S else 'MISSED'}")  # fmt: skip
    log("lines: " + ", ".join(f"{row['kind']} {row['n']:,}" for row in lines) + f"; total {totals['total']:,}")
    log(f"without the emails (a worker sends them): {len(quiet.issued):,} invoices in {quiet_elapsed:.1f} s, "
        f"{queries[0]} queries")  # fmt: skip
    log(f"run again: {len(again.issued)} issued, {again.already:,} already invoiced, {again_elapsed:.2f} s, "
        f"{again_queries} queries")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
