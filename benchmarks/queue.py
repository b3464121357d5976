"""Engineers' queue and auto-assignment benchmark: the cross-site queue (`/queue/` on the root domain)
of an engineer covering every one of 1,000 client sites with 100 tickets each (default `--sites 1000
--tickets 100`), the same answer computed by looping over the tenant schemas, and the time
`assignment_choose()` takes to pick among 100 engineers.

Measured, in one run:

(a) Queue, server time: GET `/queue/?tab=mine` ("Mine") and `/queue/?tab=breaching` ("Breaching
    soon") as the engineer "me" (covers all sites), each `--runs` times (default 200), round-robin,
    after `--warmup` untimed requests of each (default 20): median, p95 and max in ms, and the SQL
    queries per request (`CaptureQueriesContext` around one extra request). Every request goes
    through the whole Django stack in this process (`django.test.Client`, Host `ROOT_DOMAIN`,
    `secure=True` as behind the TLS proxy, logged in with `force_login`: the session is a real row in
    the database session table). "Server time" is the time around `client.get()`: middleware,
    view, SQL, template; it includes the test client's own small work and excludes network and
    WSGI server. DEBUG must be off (DEBUG=0); the manifest static storage then needs
    `collectstatic`, which the script runs into a temporary STATIC_ROOT. As the WSGI handler does
    on request_started/request_finished (and the test client does not), `close_old_connections()`
    runs before and after each request, inside the timing (health check, CONN_MAX_AGE).
    Then `--profile-runs` more requests (default 30, not counted in the main table) with every SQL
    query timed and the view's `render()` call timed around, which splits each request into SQL,
    template rendering without its SQL, and the rest (middleware, view, ORM, test client); the
    site filter menu alone is timed too (its query with the Client rows built, and its loop of
    the template rendered from a copy). The two slowest queries of each tab are run under EXPLAIN
    (ANALYZE, BUFFERS), and the TicketIndex queries once more: as they are, with the open statuses
    listed (`status IN ('new', 'open', 'pending')`) instead of the finished ones excluded, and with
    partial indexes on the open rows, `(sla_due, updated_at DESC)` and `(assignee_id, sla_due)`
    for either spelling of "open" (created in a transaction that is rolled back): a what-if, no
    product code changes.
    The speed of this shared VM varies by up to 2.5 times for minutes at a time (with nothing else
    running in the VM and no steal reported), so a fixed pure-Python loop ("CPU probe", 1M
    iterations) is timed: every timed phase waits (up to 10 minutes) until the probe is within
    25 % of the fastest one seen in the process, and probes taken during the phase are printed.
(b) Index, same answer in-process: what the view reads, without HTTP and template:
    `queue_for()` (its tab counts), then the first page (`PAGE_SIZE` rows) of the tab.
(c) Loop, same answer: for each covered site, `with tenant_context(site)`: one aggregate for the
    four tab counts and one query for the tab's rows (its condition in SQL, sorted, LIMIT
    `PAGE_SIZE`), then merge and sort in Python and take the first page, plus the page's
    assignees (one query). `--loop-runs` times (default 7), reported with the ratio to (b) and to
    the median request of (a). Both answers are compared under one frozen clock: the four counts,
    the first page in order, and the full ticket set of the tab (without LIMIT).
(d) Auto-assignment: `assignment_choose(client_id=..., category_slug=...)` for `--assign-runs`
    random (site, category) pairs (default 2,000, after 100 untimed): median, p95, max, queries
    per call; every decision is checked against a plain-Python re-computation of the rule from
    the same rows (eligible, under capacity, least loaded, longest since last assignment).

(a), (b) and (c) run twice: when the database holds the first 10 sites (the fill stops there,
measures, then goes on) and at 1,000 sites, so the query counts are compared between two real
sizes for the same engineer and code path (no `?site=` filter). At 1,000 sites the query count of
`?site=<one site>` is printed as well.

The data (seeded, `--seed`), made fast but as the services would have written it:

- sites: `provision_site()` (subdomains q-00001, ...), each with 3 requesters (users with a staff
  membership, bulk-inserted with an unusable password);
- 100 engineers (users with a verified email and an `EngineerProfile`): "me" (covers all sites,
  all seven skills, capacity 150), 9 more covering all sites and 90 regional ones, each covering a
  contiguous block of 2.5-15 % of the sites (every site is covered by at least 2 of them); 2-4
  skills each, capacity 20-60, 4 unavailable, 4 away until next week, 2 back from being away, 2
  deactivated; `last_assigned_at` within the last week or never;
- tickets: `--tickets` per site, `bulk_create` per schema, created at a steady rate over the last
  120 days, with `TicketCounter` set to match; priority (10 % none, then low 30, medium 35, high
  18, urgent 7 %), category (10 % none), a status that depends on age (most of those older than a
  week resolved or closed), first response, pause, resolution and closing times, due times from
  the site's `SLAPolicy` rows as `sla_apply()` computes them and the breach flags as the periodic
  check sets them. Open tickets are spread over the engineers covering their site, weighted by
  each engineer's remaining target load (30-100 % of capacity; "me" about 100 tickets, at least one
  on each of the first 10 sites); half of the new ones and 5 % of the others stay unassigned;
  finished tickets went to an engineer covering the site, weighted so that every engineer's
  history is about the same size (about 1,000 tickets at 1,000 sites). No messages, events or search vectors
  (neither the queue nor the loop reads them);
- the index: `ticket_index_rebuild(client=site)` (the product's own rebuild) after each site's
  tickets; a random sample of sites is then checked with `ticket_index_differences()`;
- `VACUUM (ANALYZE)` and `CHECKPOINT` before each measurement (autovacuum may be off).

Run from the project root against a database of its own (1.5 GB at 1,000 sites; about 9 minutes):

    createdb -h 127.0.0.1 -U postgres tenantdesk_qbench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_qbench DEBUG=0 \
        EMAIL_URL=file:///tmp/qbench-mail DJANGO_SETTINGS_MODULE=saas.settings
    .venv/bin/python -m benchmarks.queue --sites 1000 --tickets 100 --runs 200
    dropdb -h 127.0.0.1 -U postgres tenantdesk_qbench

The script runs `migrate` itself if needed. A database that already holds the complete data set
(same `--sites`, `--tickets` and `--seed`) is reused, measured at full size only; on such a
database only the public schema's pending migrations are applied (`migrate_schemas --shared`).

To measure the queue again on the filled database (no fill, no assignment phase, no what-if):

    .venv/bin/python -m benchmarks.queue --measure-only [--skip-vacuum] [--steady-wait 90] [--gc on]

Before the queue requests the script runs `gc.collect(); gc.freeze()`, as `saas/asgi.py` does in
a web worker after start-up (`--gc on`: leave the collector as it is). The load average
(`uptime`) is printed at the start and end of each phase, and a last `SUMMARY` line has the
median, p95 and max of both tabs, the queries per request and the loop's ratios.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

import django

from benchmarks.provision import log, machine_load, ms, settle

if TYPE_CHECKING:
    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client

PREFIX = "q-"
SMALL = 10  # the first measurement, while the fill is at this many sites
SEED = 20261121
SPAN_DAYS = 120
REQUESTERS = 3
ENGINEERS = 100
ALL_SITES_ENGINEERS = 10  # "me" included
ME = "me@qbench.test"
ME_CAPACITY, ME_TARGET = 150, 100
TARGET_MS = 30.0
TABS = {"mine": "Mine", "breaching": "Breaching soon"}
FINISHED = ("resolved", "closed")
EXPLAIN_RUNS = 9
CATEGORIES = ("network", "hardware", "software", "access", "email", "security", "other")
SUBJECTS = {
    "network": ["VPN drops every few minutes", "Wi-Fi slow in the boardroom", "Cannot reach the file server"],
    "hardware": ["Printer keeps jamming", "Laptop battery dies fast", "Second monitor flickers"],
    "software": ["Excel crashes on the finance workbook", "Teams camera not detected", "Cannot install Zoom"],
    "access": ["New starter needs an account", "Password reset", "Locked out after changing my phone (MFA)"],
    "email": ["Emails to a supplier bounce", "Shared mailbox missing in Outlook", "Mailbox almost full"],
    "security": ["Suspicious email received", "Antivirus alert on my laptop", "Lost phone with company email"],
    "other": ["Move my desk phone", "Projector shows no signal", "Order headsets for the sales team"],
}


# --- the plan: engineers, coverage, tickets ---------------------------------------------------


@dataclass
class EngineerPlan:
    email: str
    name: str
    covers_all: bool
    sites: set[int]  # site indexes (0-based), when not covers_all
    skills: list[str]
    capacity: int
    target: int  # open tickets to hold, at most
    is_available: bool = True
    away_days: int | None = None  # away_until = today + away_days
    is_active: bool = True
    last_assigned_hours: float | None = None
    load: int = 0


@dataclass(slots=True)
class TicketPlan:
    number: int
    subject: str
    priority: str
    category: str | None
    requester: int  # 0..REQUESTERS-1
    status: str
    created: datetime
    updated: datetime
    first_responded: datetime | None
    paused: datetime | None
    resolved: datetime | None
    closed: datetime | None
    assignee: int | None = None  # engineer index


def engineers_plan(rng: random.Random, sites: int) -> list[EngineerPlan]:
    engineers = [EngineerPlan(ME, "Me Measured", True, set(), list(CATEGORIES), ME_CAPACITY, ME_TARGET)]
    regional = ENGINEERS - ALL_SITES_ENGINEERS
    step = sites / regional
    for index in range(1, ENGINEERS):
        covers_all = index < ALL_SITES_ENGINEERS
        covered: set[int] = set()
        if not covers_all:
            start = int((index - ALL_SITES_ENGINEERS) * step)
            length = max(math.ceil(2 * step), round(sites * rng.uniform(0.025, 0.15)))
            covered = {(start + offset) % sites for offset in range(min(length, sites))}
        skills = sorted(rng.sample(CATEGORIES, rng.randint(2, 4)), key=CATEGORIES.index)
        capacity = rng.randrange(20, 61, 5)
        engineers.append(
            EngineerPlan(
                email=f"eng{index:03d}@qbench.test",
                name=f"Engineer {index:03d}",
                covers_all=covers_all,
                sites=covered,
                skills=skills,
                capacity=capacity,
                target=capacity if rng.random() < 0.15 else round(capacity * rng.uniform(0.3, 1.0)),
                last_assigned_hours=None if rng.random() < 0.1 else rng.uniform(0, 7 * 24),
            )
        )
    others = engineers[1:]
    rng.shuffle(others)
    for engineer in others[:4]:
        engineer.is_available = False
    for engineer in others[4:8]:
        engineer.away_days = 7
    for engineer in others[8:10]:
        engineer.away_days = -1  # back since yesterday: eligible again
    for engineer in others[10:12]:
        engineer.is_active, engineer.target = False, 0
    return engineers


def covering(engineers: list[EngineerPlan], sites: int) -> list[list[int]]:
    """Per site index: the indexes of the engineers covering it."""
    by_site: list[list[int]] = [[] for _ in range(sites)]
    for index, engineer in enumerate(engineers):
        for site in range(sites) if engineer.covers_all else engineer.sites:
            by_site[site].append(index)
    return by_site


def status_for_age(rng: random.Random, age_days: float) -> str:
    if age_days < 1:
        weights = {"new": 45, "open": 35, "pending": 10, "resolved": 10}
    elif age_days < 7:
        weights = {"new": 3, "open": 25, "pending": 12, "resolved": 40, "closed": 20}
    elif age_days < 30:
        weights = {"open": 1, "pending": 1.5, "resolved": 25, "closed": 72.5}
    else:
        weights = {"open": 0.2, "pending": 0.3, "resolved": 3, "closed": 96.5}
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def tickets_plan(rng: random.Random, count: int, now: datetime, policies: dict) -> list[TicketPlan]:
    tickets = []
    spacing = timedelta(days=SPAN_DAYS) / count
    first = now - timedelta(days=SPAN_DAYS)

    def at(minutes: float, after: datetime) -> datetime:
        return min(after + timedelta(minutes=minutes), now - timedelta(seconds=30))

    for index in range(count):
        created = first + spacing * (index + rng.random() * 0.9)
        age = now - created
        category = rng.choice(CATEGORIES) if rng.random() >= 0.10 else None
        priority = rng.choices(["", "low", "medium", "high", "urgent"], weights=[10, 30, 35, 18, 7])[0]
        status = status_for_age(rng, age.total_seconds() / 86400)
        first_minutes, resolution_minutes = policies.get(priority, (240, 3 * 24 * 60))

        responded = paused = resolved = closed = None
        if status != "new":
            responded = at(first_minutes * rng.uniform(0.05, 1.3), created)
            if status == "pending":
                paused = at(rng.uniform(0, age.total_seconds() / 60), responded)
            elif status in FINISHED:
                resolved = at(resolution_minutes * rng.uniform(0.05, 1.15), created)
                resolved = max(resolved, responded)
                if status == "closed":
                    closed = at(rng.uniform(0.5, 5) * 24 * 60, resolved)
        updated = max(value for value in (created, responded, paused, resolved, closed) if value is not None)
        slug = category or rng.choice(CATEGORIES)
        tickets.append(
            TicketPlan(
                number=index + 1,
                subject=rng.choice(SUBJECTS[slug]),
                priority=priority,
                category=category,
                requester=rng.randrange(REQUESTERS),
                status=status,
                created=created,
                updated=updated,
                first_responded=responded,
                paused=paused,
                resolved=resolved,
                closed=closed,
            )
        )
    return tickets


def assignees_plan(
    rng: random.Random, plans: list[list[TicketPlan]], engineers: list[EngineerPlan], by_site: list[list[int]]
) -> None:
    """Open tickets: weighted by each covering engineer's remaining target load, in random order
    over all sites (so nobody's load lands on the first sites only); finished: anyone covering."""
    me = engineers[0]
    open_tickets = [(site, t) for site, tickets in enumerate(plans) for t in tickets if t.status not in FINISHED]
    for site in range(min(SMALL, len(plans))):  # "Mine" is never empty at the small size
        mine = [t for t in plans[site] if t.status not in FINISHED]
        if mine:
            rng.choice(mine).assignee = 0
            me.load += 1
    rng.shuffle(open_tickets)
    for site, ticket in open_tickets:
        if ticket.assignee is not None or rng.random() < (0.5 if ticket.status == "new" else 0.05):
            continue
        room = [(index, engineers[index].target - engineers[index].load) for index in by_site[site]]
        room = [(index, left) for index, left in room if left > 0]
        if not room:
            continue
        chosen = rng.choices([index for index, _ in room], weights=[left for _, left in room])[0]
        ticket.assignee = chosen
        engineers[chosen].load += 1
    # Finished: weighted by 1 / sites covered, so that everyone's history is about the same size
    # (an engineer covering every site does not get a share of every site's tickets).
    weights = [1 / (len(by_site) if e.covers_all else max(1, len(e.sites))) for e in engineers]
    for site, tickets in enumerate(plans):
        site_weights = [weights[index] for index in by_site[site]]
        for ticket in tickets:
            if ticket.status in FINISHED and rng.random() >= 0.05:
                ticket.assignee = rng.choices(by_site[site], weights=site_weights)[0]


# --- writing the data --------------------------------------------------------------------------


@dataclass
class Setup:
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def timed(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] += time.perf_counter() - start


def migrate_if_needed() -> None:
    """A new database: `migrate`. A filled one: only the public schema's pending migrations
    (`migrate_schemas --shared`; e.g. a new TicketIndex index), since `migrate` would visit every
    one of the 1,000 tenant schemas. Pending tenant migrations are reported, not applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from shared_apps.tenancy.models import Client

    if Client._meta.db_table not in connection.introspection.table_names():
        call_command("migrate", interactive=False, verbosity=0)
        return
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        from django.apps import apps
        from django.conf import settings

        log(f"  pending migrations: {', '.join(f'{m.app_label}.{m.name}' for m, _ in pending)}")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        log("  applied to the public schema (migrate_schemas --shared); tenant schemas untouched")
        tenant_labels = {apps.get_app_config(name.rsplit(".", 1)[-1]).label for name in settings.TENANT_APPS
                         if apps.is_installed(name) and name.rsplit(".", 1)[-1] in apps.app_configs}  # fmt: skip
        if {m.app_label for m, _ in pending} & tenant_labels:
            log("  WARNING: tenant apps have new migrations; the loop (c) reads the tenant schemas: run "
                "`manage.py migrate` first (it visits every schema)")  # fmt: skip


def engineers_create(engineers: list[EngineerPlan]) -> list[User]:
    """Users, verified emails and profiles (coverage comes once the sites exist)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from shared_apps.accounts.models import User
    from shared_apps.engineers.models import EngineerProfile

    now, today = timezone.now(), timezone.localdate()
    users = User.objects.bulk_create(
        User(email=e.email, full_name=e.name, is_active=e.is_active, password=make_password(None)) for e in engineers
    )
    EmailAddress.objects.bulk_create(EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users)
    EngineerProfile.objects.bulk_create(
        EngineerProfile(
            user=user,
            skills=e.skills,
            covers_all_sites=e.covers_all,
            capacity=e.capacity,
            is_available=e.is_available,
            away_until=None if e.away_days is None else today + timedelta(days=e.away_days),
            is_active=e.is_active,
            last_assigned_at=None if e.last_assigned_hours is None else now - timedelta(hours=e.last_assigned_hours),
        )
        for user, e in zip(users, engineers, strict=True)
    )
    return users


def coverage_create(engineers: list[EngineerPlan], sites: list[Client]) -> None:
    from shared_apps.engineers.models import EngineerProfile

    profiles = dict(EngineerProfile.objects.values_list("user__email", "pk"))
    through = EngineerProfile.sites.through
    through.objects.bulk_create(
        (
            through(engineerprofile_id=profiles[e.email], client_id=sites[site].pk)
            for e in engineers
            for site in e.sites
        ),
        batch_size=5000,
    )


def site_fill(site: Client, tickets: list[TicketPlan], engineer_users: list[User], now: datetime) -> None:
    """Requesters, tickets, counter, then the product's own index rebuild; one transaction."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.engineers.ticket_index import ticket_index_rebuild
    from shared_apps.tenancy.models import Membership
    from tenant_apps.tickets.models import Category, SLAPolicy, Ticket, TicketCounter

    with transaction.atomic():
        requesters = User.objects.bulk_create(
            User(email=f"user{n}@{site.subdomain}.qbench.test", full_name=f"User {n} of {site.subdomain}",
                 password=make_password(None))
            for n in range(REQUESTERS)
        )  # fmt: skip
        Membership.objects.bulk_create(Membership(user=u, client=site, role=Membership.Role.STAFF) for u in requesters)
        with tenant_context(site):
            categories = dict(Category.objects.values_list("slug", "pk"))
            policies = {p.priority: p for p in SLAPolicy.objects.all()}
            rows = []
            for plan in tickets:
                ticket = Ticket(
                    number=plan.number,
                    subject=plan.subject,
                    description=f"<p>{plan.subject}. Please help.</p>",
                    status=plan.status,
                    priority=plan.priority,
                    category_id=categories[plan.category] if plan.category else None,
                    requester_id=requesters[plan.requester].pk,
                    assignee_id=None if plan.assignee is None else engineer_users[plan.assignee].pk,
                    created_at=plan.created,
                    updated_at=plan.updated,
                    first_responded_at=plan.first_responded,
                    sla_paused_at=plan.paused,
                    resolved_at=plan.resolved,
                    closed_at=plan.closed,
                )
                sla_fields(ticket, policies.get(plan.priority), now=now)
                rows.append(ticket)
            Ticket.objects.bulk_create(rows, batch_size=500)
            TicketCounter.objects.update_or_create(pk=1, defaults={"last_number": len(rows)})
        ticket_index_rebuild(client=site)


def sla_fields(ticket: Any, policy: Any, *, now: datetime) -> None:
    """Due times as `sla_apply()` sets them; the flags as the periodic check would have set them."""
    if policy is None:
        return
    ticket.first_response_due = ticket.created_at + timedelta(minutes=policy.first_response_minutes)
    ticket.resolution_due = ticket.created_at + timedelta(minutes=policy.resolution_minutes)
    running = ticket.status in ("new", "open")
    answered = ticket.first_responded_at or (now if running else None)
    ticket.first_response_breached = answered is not None and answered > ticket.first_response_due
    clock_stop = ticket.resolved_at or ticket.sla_paused_at or (now if running else None)
    ticket.resolution_breached = clock_stop is not None and clock_stop > ticket.resolution_due


def site_provision(index: int) -> Client:
    from shared_apps.tenancy.provisioning import provision_site

    subdomain = f"{PREFIX}{index + 1:05d}"
    return provision_site(name=f"Queue {subdomain}", subdomain=subdomain, admin_email=f"admin@{subdomain}.qbench.test")


def index_sample_check(sites: list[Client], rng: random.Random, problems: list[str], sample: int = 20) -> None:
    from shared_apps.engineers.ticket_index import ticket_index_differences

    picked = rng.sample(sites, min(sample, len(sites)))
    differences = [d for site in picked for d in ticket_index_differences(client=site)]
    log(f"  ticket_index_differences() on {len(picked)} random sites: {len(differences)} differences")
    if differences:
        problems.append(f"index differs from the tickets: {differences[:3]}")


def data_summary(me: User) -> dict[str, Any]:
    from django.db.models import Count, Q
    from django.utils import timezone

    from shared_apps.engineers.models import TicketIndex

    soon = timezone.now() + timedelta(hours=4)
    open_rows = TicketIndex.objects.exclude(status__in=FINISHED)
    summary = TicketIndex.objects.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=~Q(status__in=FINISHED)),
        breaching=Count("pk", filter=~Q(status__in=FINISHED) & (Q(sla_breached=True) | Q(sla_due__lte=soon))),
        due_soon_not_breached=Count(
            "pk", filter=~Q(status__in=FINISHED) & Q(sla_breached=False, sla_due__lte=soon, sla_due__gt=timezone.now())
        ),
        unassigned=Count("pk", filter=~Q(status__in=FINISHED) & Q(assignee__isnull=True)),
        mine=Count("pk", filter=~Q(status__in=FINISHED) & Q(assignee=me)),
        mine_sites=Count("client", filter=~Q(status__in=FINISHED) & Q(assignee=me), distinct=True),
        breaching_paused_unflagged=Count(
            "pk", filter=Q(status="pending", sla_breached=False, sla_due__lte=soon)
        ),  # waiting on the requester: the SLA clock is stopped, yet the tab lists them
    )
    summary["statuses"] = dict(open_rows.values_list("status").annotate(n=Count("pk")).order_by("status"))
    summary["sites"] = TicketIndex.objects.values("client").distinct().count()
    return summary


# --- measuring the queue -------------------------------------------------------------------------


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (median of 5): how fast this machine is right now. On
    this shared VM it varies by up to 2.5 times for minutes at a time, with no other process of
    the VM running and no steal reported."""
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for value in range(1_000_000):
            total += value
        samples.append(time.perf_counter() - start)
    probe = statistics.median(samples)
    FASTEST[0] = min(FASTEST[0], probe)
    return probe


FASTEST = [math.inf]  # the fastest CPU probe of this process
STEADY = 1.25  # a phase starts when the probe is within 25 % of the fastest seen
STEADY_WAIT = [600.0]  # seconds, --steady-wait


def steady_cpu(label: str) -> None:
    """Before a timed phase: wait (up to `--steady-wait` seconds) until the CPU probe is within
    STEADY of the fastest probe seen in this process, so no phase runs through a slow spell of the
    host. The load average is printed with it (`uptime`'s three numbers)."""
    start = time.monotonic()
    for _ in range(3):
        cpu_probe()
    while True:
        probe = cpu_probe()
        waited = time.monotonic() - start
        if probe <= FASTEST[0] * STEADY or waited > STEADY_WAIT[0]:
            log(f"  {label}: CPU probe {ms(probe)} ms (fastest {ms(FASTEST[0])} ms), waited {waited:.0f} s, "
                f"load average {load_average()}")  # fmt: skip
            return
        time.sleep(10)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@contextmanager
def probed(label: str) -> Iterator[Callable[[], None]]:
    """Machine load around a timed phase, with the CPU probes taken during it (call the yielded
    function now and then) printed at the end."""
    probes: list[float] = []
    steady_cpu(label)
    with machine_load(label):
        yield lambda: probes.append(cpu_probe())
    if probes:
        log(f"  {label}: CPU probes during the phase {ms(min(probes))}-{ms(max(probes))} ms")
    log(f"  {label}: load average at the end {load_average()}")


@dataclass
class Scenario:
    tab: str
    path: str
    samples: list[float] = field(default_factory=list)  # seconds, whole request
    queries: list[str] = field(default_factory=list)
    profile: list[list[tuple[str, list, float, float]]] = field(default_factory=list)  # per request, per query
    breakdown: list[dict[str, float]] = field(default_factory=list)  # per request: span -> seconds
    index_samples: list[float] = field(default_factory=list)  # (b)
    index_queries: int = 0
    loop_samples: list[float] = field(default_factory=list)  # (c)
    loop_queries: int = 0
    loop_sites: int = 0
    expected: int = 0  # tickets in the tab


@dataclass
class Size:
    sites: int
    scenarios: dict[str, Scenario]
    reconnects: int = 0
    load: tuple[str, str] = ("", "")  # load averages (uptime) before and after the timed requests
    collections: tuple[int, float] = (0, 0.0)  # full (generation 2) garbage collections, their seconds
    site_filter_queries: dict[str, int] = field(default_factory=dict)
    page_kb: float = 0.0  # size of the HTML page
    options: int = 0  # <option> elements in the page (the filter menus)
    menu: tuple[float, float, int] = (0.0, 0.0, 0)  # site menu: query + rows, rendering (s); sites
    explains: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


@contextmanager
def sql_timer() -> Iterator[list[tuple[str, list, float, float]]]:
    from django.db import connection

    timings: list[tuple[str, list, float, float]] = []  # sql, params, seconds, start

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((sql, list(params or ()), time.perf_counter() - start, start))

    with connection.execute_wrapper(wrapper):
        yield timings


@contextmanager
def captured_queries() -> Iterator[Any]:
    """`CaptureQueriesContext` on a cleared query log: the log keeps the last 9,000 queries only,
    and a context opened on a full log captures nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        yield captured


@contextmanager
def static_files_collected() -> Iterator[None]:
    """DEBUG=0 uses the manifest storage, which needs `collectstatic`: into a temporary STATIC_ROOT."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = tempfile.mkdtemp(prefix="tenantdesk-qbench-static-")
    try:
        with override_settings(STATIC_ROOT=root):
            call_command("collectstatic", interactive=False, verbosity=0)
            yield
    finally:
        shutil.rmtree(root, ignore_errors=True)


BADGE = re.compile(r'href="\?tab=(\w+)[^"]*">[^<]*<span class="badge [^"]*">(\d+)</span>')


def response_check(scenario: Scenario, response: Any, page_size: int) -> str | None:
    if response.status_code != 200:
        return f"{scenario.path}: status {response.status_code}"
    content = response.content.decode()
    counts = {tab: int(count) for tab, count in BADGE.findall(content)}
    body = content.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    rows = len(re.findall(r"<tr[\s>]", body)) if "Nothing here." not in body else 0
    if counts.get(scenario.tab) != scenario.expected or rows != min(page_size, scenario.expected):
        return f"{scenario.path}: badge {counts.get(scenario.tab)}, {rows} rows; expected {scenario.expected}"
    return None


def describe(sql: str) -> str:
    table = re.search(r'\bFROM "(\w+)"', sql)
    name = table.group(1) if table else sql.split()[0]
    if re.match(r"SELECT COUNT\(\*\) AS \"__count\"", sql):
        kind = "COUNT"
    elif "FILTER (WHERE" in sql:
        kind = "counts per tab"
    else:
        kind = "rows"
    limit = re.search(r"LIMIT (\d+)(?: OFFSET \d+)?\s*$", sql)  # the query's own, not a subquery's
    return f"{name} {kind}" + (f" LIMIT {limit.group(1)}" if limit else "")


def queue_measure(me: User, size: Size, args: argparse.Namespace, problems: list[str]) -> None:
    from django.conf import settings
    from django.db import close_old_connections
    from django.db.backends.signals import connection_created
    from django.test import Client as HttpClient

    from shared_apps.engineers.selectors import queue_for
    from shared_apps.engineers.views import PAGE_SIZE

    http = HttpClient(HTTP_HOST=settings.ROOT_DOMAIN)
    http.force_login(me)

    def get(path: str) -> Any:
        close_old_connections()
        response = http.get(path, secure=True)
        close_old_connections()
        return response

    if args.gc == "freeze":
        # What saas/asgi.py does once the application is loaded: everything alive now lives as long
        # as the process, and the collector stops walking it. Without this, this process's heap
        # (the fill's objects among them) would make each full collection slower than in a server.
        gc.collect()
        gc.freeze()
        log(f"  gc.freeze(): {gc.get_freeze_count():,} objects frozen")
    scenarios = list(size.scenarios.values())
    for scenario in scenarios:
        scenario.expected = queue_for(user=me, tab=scenario.tab)[1][scenario.tab]
        for _ in range(args.warmup):
            problem = response_check(scenario, get(scenario.path), PAGE_SIZE)
            if problem:
                problems.append(f"at {size.sites:,} sites: {problem}")
                break
        with captured_queries() as captured:
            response = get(scenario.path)
        scenario.queries = [query["sql"] for query in captured.captured_queries]
        size.page_kb = len(response.content) / 1024
        size.options = response.content.decode().count("<option")

    reconnects = [0]

    def counted(**kwargs: Any) -> None:
        reconnects[0] += 1

    collections: list[float] = []
    collection_start = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                collection_start[0] = time.perf_counter()
            else:
                collections.append(time.perf_counter() - collection_start[0])

    connection_created.connect(counted)
    gc.callbacks.append(collected)
    load_before = load_average()
    with probed(f"queue requests at {size.sites:,} sites ({args.runs} x {len(scenarios)})") as probe:
        for run in range(args.runs):
            if run % 50 == 0:
                probe()
            for scenario in scenarios[run % len(scenarios) :] + scenarios[: run % len(scenarios)]:
                start = time.perf_counter()
                get(scenario.path)
                scenario.samples.append(time.perf_counter() - start)
    size.load = (load_before, load_average())
    gc.callbacks.remove(collected)
    connection_created.disconnect(counted)
    size.reconnects = reconnects[0]
    size.collections = (len(collections), sum(collections))

    # Where the time goes: every SQL query timed, and the request cut at the view's first call
    # (`queue_for()`) and around its `render()`: before the view (test client, middleware: the
    # session, the user, the role check), the view up to rendering (the queue's queries, the
    # rows), the template (with any query it runs lazily) and after it (response middleware).
    from shared_apps.engineers import views

    marks: dict[str, float] = {}

    def timed_queue_for(*args: Any, **kwargs: Any) -> Any:
        marks["view"] = time.perf_counter()
        return original_queue_for(*args, **kwargs)

    def timed_render(*args: Any, **kwargs: Any) -> Any:
        marks["render"] = time.perf_counter()
        try:
            return original_render(*args, **kwargs)
        finally:
            marks["render_end"] = time.perf_counter()

    original_queue_for, original_render = views.queue_for, views.render
    steady_cpu(f"profile runs at {size.sites:,} sites")
    with mock.patch.object(views, "render", timed_render), mock.patch.object(views, "queue_for", timed_queue_for):
        for _ in range(args.profile_runs):
            for scenario in scenarios:
                marks.clear()
                with sql_timer() as timings:
                    start = time.perf_counter()
                    get(scenario.path)
                    end = time.perf_counter()
                scenario.profile.append(timings)
                cuts = (start, marks["view"], marks["render"], marks["render_end"], end)

                def sql_between(begin: float, until: float) -> float:
                    return sum(row[2] for row in timings if begin <= row[3] < until)  # noqa: B023

                spans = {"request": end - start, "SQL": sql_between(start, end)}
                for name, begin, until in zip(SPANS, cuts[:-1], cuts[1:], strict=True):
                    spans[name] = until - begin
                    spans[f"{name} SQL"] = sql_between(begin, until)
                scenario.breakdown.append(spans)

    # One covered site only, for the query count (the site with the most open tickets of mine).
    if size.sites > SMALL:
        for scenario in scenarios:
            with captured_queries() as captured:
                get(f"{scenario.path}&site={PREFIX}00001")
            size.site_filter_queries[scenario.tab] = len(captured.captured_queries)


def index_answer(me: User, tab: str, *, limit: int | None) -> tuple[dict[str, int], list[tuple]]:
    """(b): what the view reads from TicketIndex: the tab counts and the first page."""
    from shared_apps.engineers.selectors import queue_for, queue_rows

    rows, counts = queue_for(user=me, tab=tab)
    page = queue_rows(rows[:limit] if limit else rows)
    return counts, [(row.client_id, row.number, row.assignee) for row in page]


def loop_answer(me: User, tab: str, *, limit: int | None, now: datetime | None = None):
    """(c): the naive way, one site at a time in its own schema, merged in Python."""
    from django.db.models import Case, Count, DateTimeField, F, Q, When
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.engineers.selectors import BREACHING_WINDOW_HOURS, engineer_sites
    from tenant_apps.tickets.models import Ticket

    soon = (now or timezone.now()) + timedelta(hours=BREACHING_WINDOW_HOURS)
    due = Case(  # as TicketIndex.sla_due: none while paused (waiting on the requester)
        When(sla_paused_at__isnull=False, then=None),
        When(first_responded_at__isnull=True, first_response_due__isnull=False, then=F("first_response_due")),
        default=F("resolution_due"),
        output_field=DateTimeField(),
    )
    conditions = {
        "mine": Q(assignee_id=me.pk),
        "unassigned": Q(assignee__isnull=True),
        "breaching": Q(first_response_breached=True) | Q(resolution_breached=True) | Q(due__lte=soon),
        "all": Q(),
    }
    counts: Counter[str] = Counter()
    rows: list[tuple] = []
    for site in engineer_sites(user=me).filter(status="active"):
        with tenant_context(site):
            tickets = Ticket.objects.exclude(status__in=FINISHED).annotate(due=due)
            site_counts = tickets.aggregate(**{name: Count("pk", filter=q) for name, q in conditions.items()})
            counts.update(site_counts)
            selected = tickets.filter(conditions[tab]).order_by(F("due").asc(nulls_last=True), "-updated_at")
            if limit:
                selected = selected[:limit]
            for number, assignee_id, due_at, updated in selected.values_list("number", "assignee_id", "due",
                                                                              "updated_at"):  # fmt: skip
                key = (math.inf if due_at is None else due_at.timestamp(), -updated.timestamp())
                rows.append((key, site.pk, number, assignee_id))
    rows.sort()
    page = rows[:limit] if limit else rows
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in={r[3] for r in page if r[3]})}
    return {name: counts[name] for name in conditions}, [(r[1], r[2], names.get(r[3], "")) for r in page]


def answers_compare(me: User, tab: str, size: Size, problems: list[str]) -> None:
    """Index and loop under one frozen clock: the counts, the first page in order, the full set."""
    from django.utils import timezone

    from shared_apps.engineers.views import PAGE_SIZE

    frozen = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=frozen):
        index_counts, index_page = index_answer(me, tab, limit=PAGE_SIZE)
        _, index_all = index_answer(me, tab, limit=None)
    loop_counts, loop_page = loop_answer(me, tab, limit=PAGE_SIZE, now=frozen)
    _, loop_all = loop_answer(me, tab, limit=None, now=frozen)
    same = (
        index_counts == loop_counts,
        index_page == loop_page,
        {r[:2] for r in index_all} == {r[:2] for r in loop_all} and len(index_all) == len(loop_all),
    )
    message = (
        f"{TABS[tab]} at {size.sites:,} sites: counts {'equal' if same[0] else 'DIFFER'} {dict(index_counts)}; "
        f"first page ({len(index_page)} rows) {'identical, same order' if same[1] else 'DIFFERS'}; "
        f"full ticket set ({len(index_all):,} tickets) {'equal' if same[2] else 'DIFFERS'}"
    )
    size.checks.append(message)
    log(f"  {message}")
    if not all(same):
        problems.append(message + f"; loop counts {loop_counts}")


def answers_time(me: User, size: Size, args: argparse.Namespace) -> None:

    from shared_apps.engineers.views import PAGE_SIZE

    for scenario in size.scenarios.values():
        for _ in range(3):  # warm-up
            index_answer(me, scenario.tab, limit=PAGE_SIZE)
        with captured_queries() as captured:
            index_answer(me, scenario.tab, limit=PAGE_SIZE)
        scenario.index_queries = len(captured.captured_queries)
        with probed(f"index, {TABS[scenario.tab]}, {size.sites:,} sites ({args.runs} runs)"):
            for _ in range(args.runs):
                start = time.perf_counter()
                index_answer(me, scenario.tab, limit=PAGE_SIZE)
                scenario.index_samples.append(time.perf_counter() - start)
        loop_answer(me, scenario.tab, limit=PAGE_SIZE)  # warm-up
        with captured_queries() as captured:
            loop_answer(me, scenario.tab, limit=PAGE_SIZE)
        scenario.loop_queries = len(captured.captured_queries)
        scenario.loop_sites = size.sites
        with probed(f"loop, {TABS[scenario.tab]}, {size.sites:,} sites ({args.loop_runs} runs)") as probe:
            for _ in range(args.loop_runs):
                probe()
                start = time.perf_counter()
                loop_answer(me, scenario.tab, limit=PAGE_SIZE)
                scenario.loop_samples.append(time.perf_counter() - start)
        log(
            f"  {TABS[scenario.tab]}: index {ms(statistics.median(scenario.index_samples))} ms "
            f"({scenario.index_queries} queries), loop {ms(statistics.median(scenario.loop_samples))} ms "
            f"({scenario.loop_queries} queries)"
        )


def explain(sql: str, params: list) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        timings = []
        for _ in range(EXPLAIN_RUNS):
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
            timings.append(cursor.fetchone()[0][0]["Execution Time"])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    return [f"Execution Time with TIMING OFF, median of {EXPLAIN_RUNS}: {statistics.median(timings):.3f} ms", *plan]


def sites_menu_time(me: User, runs: int) -> tuple[float, float, int]:
    """The page's site filter menu alone: its query with the Client rows built, then the menu's
    loop of `engineers/queue.html` rendered (copied here); medians in seconds, and the sites."""
    from django.template import Context, Template

    from shared_apps.engineers.selectors import engineer_sites

    menu = Template(
        '{% for s in sites %}<option value="{{ s.subdomain }}"{% if filters.site == s.subdomain %} selected'
        "{% endif %}>{{ s.name }}</option>{% endfor %}"
    )
    queries, renders = [], []
    for _ in range(runs):
        start = time.perf_counter()
        sites = list(engineer_sites(user=me).filter(status="active").order_by("name"))
        middle = time.perf_counter()
        menu.render(Context({"sites": sites, "filters": {"site": ""}}))
        queries.append(middle - start)
        renders.append(time.perf_counter() - middle)
    return statistics.median(queries), statistics.median(renders), len(sites)


NOT_FINISHED = 'NOT ("engineers_ticketindex"."status" IN (%s, %s))'
LISTED_OPEN = '"engineers_ticketindex"."status" IN (%s, %s, %s)'
OPEN_STATUSES = ("new", "open", "pending")
PARTIAL_INDEXES = tuple(  # what-if only: created in a transaction that is rolled back
    f"CREATE INDEX qbench_open_{name}_{form} ON engineers_ticketindex ({columns}) WHERE {predicate}"
    for name, columns in (("due", "sla_due, updated_at DESC"), ("assignee", "assignee_id, sla_due"))
    for form, predicate in (
        ("excluded", "status NOT IN ('resolved', 'closed')"),  # matches the queries as at a2f1227
        ("listed", "status IN ('new', 'open', 'pending')"),  # matches them with the statuses listed
    )
)


def execution_ms(cursor: Any, sql: str, params: list) -> float:
    timings = []
    for _ in range(EXPLAIN_RUNS):
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
        timings.append(cursor.fetchone()[0][0]["Execution Time"])
    return statistics.median(timings)


def open_statuses_listed(sql: str, params: list) -> tuple[str, list] | None:
    """The query with `NOT (status IN ('resolved', 'closed'))` rewritten as `status IN ('new',
    'open', 'pending')`; the query itself if it lists them already; None if it does neither."""
    if sql.count(NOT_FINISHED) == 1 and "resolved" in params:
        at = params.index("resolved")
        if params[at + 1] == "closed":
            return sql.replace(NOT_FINISHED, LISTED_OPEN), [*params[:at], *OPEN_STATUSES, *params[at + 2 :]]
    if LISTED_OPEN in sql and "new" in params:
        return sql, params
    return None


def what_if(size: Size, extra: list[tuple[str, str, list]]) -> list[tuple[str, float, float | None, float]]:
    """The queue's TicketIndex queries as they ran, (a) with the open statuses listed
    (`status IN ('new', 'open', 'pending')`, which the existing status-led indexes can use)
    instead of the finished ones excluded, and (b) as they are but with partial indexes on the
    open rows (one set per spelling of "open"). (b) runs in a transaction that is rolled back: the
    database is left as it was, and no product code changes. Returns (query, as is, (a), (b)) in
    ms (EXPLAIN ANALYZE Execution Time with TIMING OFF, median of EXPLAIN_RUNS); (a) is None for
    a query spelled neither way."""
    from django.db import connection, transaction

    queries = []
    for scenario in size.scenarios.values():
        for sql, params, _seconds, _start in scenario.profile[0]:
            if 'FROM "engineers_ticketindex"' in sql:
                queries.append((f"{TABS[scenario.tab]}: {describe(sql)}", sql, params))
    queries += extra
    results: list[list] = []
    with connection.cursor() as cursor:
        for label, sql, params in queries:
            listed = open_statuses_listed(sql, params)
            results.append(
                [label, execution_ms(cursor, sql, params), execution_ms(cursor, *listed) if listed else None]
            )
        with transaction.atomic():
            for statement in PARTIAL_INDEXES:
                cursor.execute(statement)
            cursor.execute("ANALYZE engineers_ticketindex")
            for row, (_label, sql, params) in zip(results, queries, strict=True):
                row.append(execution_ms(cursor, sql, params))
            transaction.set_rollback(True)
    return [tuple(row) for row in results]


def what_if_table(rows: list[tuple[str, float, float | None, float]], sites: int) -> str:
    header = [f"TicketIndex query (at {sites:,} sites)", "As it runs, ms", "status IN (open ones), ms",
              "Partial indexes on open rows, ms"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|"]
    for label, *values in rows:
        lines.append(f"| {label} | " + " | ".join("n/a" if v is None else f"{v:.2f}" for v in values) + " |")
    return "\n".join(lines)


def size_measure(me: User, sites: int, args: argparse.Namespace, problems: list[str]) -> Size:
    log(f"measuring at {sites:,} sites")
    size = Size(sites, {tab: Scenario(tab, f"/queue/?tab={tab}") for tab in TABS})
    with static_files_collected():
        queue_measure(me, size, args, problems)
    for tab in TABS:
        answers_compare(me, tab, size, problems)
    answers_time(me, size, args)
    if not args.measure_only:
        steady_cpu(f"site filter menu at {size.sites:,} sites")
        size.menu = sites_menu_time(me, args.profile_runs)
    log(f"  CPU probe after the measurements: {ms(cpu_probe())} ms")
    for scenario in size.scenarios.values():
        medians = query_medians(scenario)
        for sql, params, seconds in sorted(medians, key=lambda row: -row[2])[:2]:
            lines = explain(sql, params)
            size.explains += [f"{TABS[scenario.tab]}, {describe(sql)} (median {ms(seconds)} ms in the request):",
                              f"  {sql}", f"  params {params}", *(f"    {line}" for line in lines)]  # fmt: skip
    return size


# --- auto-assignment ---------------------------------------------------------------------------


@dataclass
class Assignment:
    samples: list[float] = field(default_factory=list)
    queries: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    candidates: list[int] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    profile: list[list[tuple[str, list, float, float]]] = field(default_factory=list)  # per call, per query

    def query_summary(self) -> list[tuple[str, float, str, list]]:
        """Per query position of the two-query calls: (name, median seconds, slowest SQL, its params)."""
        calls = [timings for timings in self.profile if len(timings) == 2]
        summary = []
        for position in range(2):
            rows = [timings[position] for timings in calls]
            slowest = max(rows, key=lambda row: row[2])
            summary.append((describe(slowest[0]), statistics.median(row[2] for row in rows), slowest[0], slowest[1]))
        return summary


def assignment_measure(sites: list[Client], args: argparse.Namespace, problems: list[str]) -> Assignment:
    from datetime import UTC

    from django.db.models import Count

    from shared_apps.engineers.assignment import assignment_choose
    from shared_apps.engineers.models import EngineerProfile, TicketIndex

    rng = random.Random(args.seed + 1)
    pairs = [(rng.choice(sites).pk, rng.choice(CATEGORIES)) for _ in range(args.assign_runs)]
    for client_id, slug in pairs[:100]:  # warm-up
        assignment_choose(client_id=client_id, category_slug=slug)
    result = Assignment()
    with probed(f"assignment ({args.assign_runs} calls)") as probe:
        for call, (client_id, slug) in enumerate(pairs):
            if call % 500 == 0:
                probe()
            start = time.perf_counter()
            assignment_choose(client_id=client_id, category_slug=slug)
            result.samples.append(time.perf_counter() - start)

    profiles = list(EngineerProfile.objects.select_related("user"))
    coverage: dict[int, set[int]] = defaultdict(set)
    for profile_id, client_id in EngineerProfile.sites.through.objects.values_list("engineerprofile_id", "client_id"):
        coverage[profile_id].add(client_id)
    loads = dict(
        TicketIndex.objects.exclude(status__in=FINISHED)
        .filter(assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    never = datetime.min.replace(tzinfo=UTC)
    for client_id, slug in pairs:
        with captured_queries() as captured, sql_timer() as timings:
            choice = assignment_choose(client_id=client_id, category_slug=slug)
        result.queries[len(captured.captured_queries)] += 1
        result.profile.append(timings)
        expected_pk, kind, candidates = assignment_expected(client_id, slug, profiles, coverage, loads, never)
        result.outcomes[kind] += 1
        result.candidates.append(candidates)
        got = choice.profile.pk if choice.profile else None
        if got != expected_pk:
            result.mismatches.append(f"site {client_id} {slug}: chose {got}, expected {expected_pk} ({choice.reason})")
    if result.mismatches:
        problems.append(f"assignment differs from the rule in {len(result.mismatches)} calls: {result.mismatches[:3]}")
    return result


def assignment_expected(client_id: int, slug: str, profiles: list, coverage: dict, loads: dict, never: datetime):
    """The rule of assignment.py in plain Python, over rows read once: (profile pk or None, outcome, eligible)."""
    from django.utils import timezone

    today = timezone.localdate()
    eligible = [
        p
        for p in profiles
        if p.is_active
        and p.user.is_active
        and p.is_available
        and (p.away_until is None or p.away_until < today)
        and (p.covers_all_sites or client_id in coverage[p.pk])
        and slug in p.skills
    ]
    if not eligible:
        return None, "nobody eligible", 0
    under = [p for p in eligible if loads.get(p.user_id, 0) < p.capacity]
    if not under:
        return None, "all at capacity", len(eligible)
    lowest = min(loads.get(p.user_id, 0) for p in under)
    tied = [p for p in under if loads.get(p.user_id, 0) == lowest]
    chosen = min(tied, key=lambda p: (p.last_assigned_at or never, p.pk))
    return chosen.pk, "chosen", len(eligible)


# --- reporting ---------------------------------------------------------------------------------


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def query_medians(scenario: Scenario) -> list[tuple[str, list, float]]:
    lengths = {len(timings) for timings in scenario.profile}
    if len(lengths) != 1:
        raise RuntimeError(f"{scenario.tab}: the number of queries varies between requests: {sorted(lengths)}")
    return [
        (rows[0][0], rows[0][1], statistics.median(row[2] for row in rows))
        for rows in zip(*scenario.profile, strict=True)
    ]


def queue_table(sizes: list[Size]) -> str:
    header = ["Sites", "Tab", "Tickets in tab", "Queries", "Median, ms", "p95, ms", "Max, ms", "SQL (median), ms"]
    lines = ["| " + " | ".join(header) + " |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for s in size.scenarios.values():
            sql = statistics.median(sum(row[2] for row in timings) for timings in s.profile)
            cells = [f"{size.sites:,}", TABS[s.tab], f"{s.expected:,}", str(len(s.queries)),
                     ms(statistics.median(s.samples)), ms(p95(s.samples)), ms(max(s.samples)), ms(sql)]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SPANS = ("before the view", "view up to render()", "template", "after the view")


def breakdown_table(sizes: list[Size]) -> str:
    """Medians of each span over the profile runs, with the SQL inside it in brackets."""
    header = ["Sites", "Tab", "Request (SQL), ms", *(f"{name.capitalize()} (SQL), ms" for name in SPANS)]
    lines = ["| " + " | ".join(header) + " |", "|---:|---|" + "---:|" * (len(SPANS) + 1)]
    for size in sizes:
        for s in size.scenarios.values():

            def median(key: str) -> str:
                return ms(statistics.median(row[key] for row in s.breakdown))  # noqa: B023

            cells = [f"{size.sites:,}", TABS[s.tab], f"{median('request')} ({median('SQL')})"]
            cells += [f"{median(name)} ({median(name + ' SQL')})" for name in SPANS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def loop_table(sizes: list[Size]) -> str:
    header = ["Sites", "Tab", "Index: queries", "Index: median, ms", "Loop: queries", "Loop: median (min-max), ms",
              "Loop / index", "Loop / request"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for s in size.scenarios.values():
            index, loop = statistics.median(s.index_samples), statistics.median(s.loop_samples)
            request = statistics.median(s.samples)
            cells = [f"{size.sites:,}", TABS[s.tab], str(s.index_queries), ms(index), str(s.loop_queries),
                     f"{ms(loop)} ({ms(min(s.loop_samples))}-{ms(max(s.loop_samples))})",
                     f"{loop / index:,.0f}x", f"{loop / request:,.0f}x"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def query_table(size: Size) -> str:
    lines = [f"Queries per request at {size.sites:,} sites (median ms over the profile runs):"]
    for scenario in size.scenarios.values():
        lines.append(f"  {TABS[scenario.tab]}:")
        for sql, _params, seconds in query_medians(scenario):
            lines.append(f"    {ms(seconds):>7}  {describe(sql)}")
    return "\n".join(lines)


def assignment_table(result: Assignment, engineers: int) -> str:
    s = result.samples
    header = ["Engineers", "Calls", "Queries per call", "Median, ms", "p95, ms", "Max, ms"]
    queries = ", ".join(f"{n}: {count:,}" for n, count in sorted(result.queries.items()))
    cells = [str(engineers), f"{len(s):,}", queries, ms(statistics.median(s)), ms(p95(s)), ms(max(s))]
    return "\n".join(
        ["| " + " | ".join(header) + " |", "|---:|---:|---|---:|---:|---:|", "| " + " | ".join(cells) + " |"]
    )


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000, help="client sites")
    parser.add_argument("--tickets", type=int, default=100, help="tickets per site")
    parser.add_argument("--runs", type=int, default=200, help="timed queue requests of each tab")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests of each tab first")
    parser.add_argument("--profile-runs", type=int, default=30, help="requests of each tab timed per SQL query")
    parser.add_argument("--loop-runs", type=int, default=7, help="timed runs of the per-schema loop, per tab")
    parser.add_argument("--assign-runs", type=int, default=2000, help="timed assignment_choose() calls")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="only measure the queue (requests, index, loop) on an already filled database: no fill, "
        "no assignment phase, no what-if; fails if the database is not the complete data set",
    )
    parser.add_argument("--skip-vacuum", action="store_true",
                        help="with --measure-only: no VACUUM (ANALYZE) and CHECKPOINT first (repeat runs)")  # fmt: skip
    parser.add_argument("--gc", choices=("freeze", "on"), default="freeze",
                        help="freeze: gc.collect() and gc.freeze() before the queue requests, as saas/asgi.py "
                        "does after start-up (default); on: leave the collector as it is")  # fmt: skip
    parser.add_argument("--steady-wait", type=float, default=600,
                        help="seconds a phase waits at most for a CPU probe within 25%% of the fastest")  # fmt: skip
    args = parser.parse_args(argv)
    if args.sites <= SMALL or args.tickets < 10 or args.runs < 20:
        parser.error(f"--sites above {SMALL}, --tickets at least 10, --runs at least 20")
    return args


def fill(args: argparse.Namespace, setup: Setup, problems: list[str], on_small: Callable[[User], None]) -> None:
    from django.test.utils import override_settings
    from django.utils import timezone

    from shared_apps.tenancy.models import Client
    from shared_apps.tenancy.provisioning import template_ensure
    from tenant_apps.tickets.models import SLAPolicy

    rng = random.Random(args.seed)
    with setup.timed("plan (engineers, tickets, assignees; in memory)"):
        template = template_ensure()
        from django_tenants.utils import schema_context

        with schema_context(template.schema_name):
            policies = {p.priority: (p.first_response_minutes, p.resolution_minutes) for p in SLAPolicy.objects.all()}
        engineers = engineers_plan(rng, args.sites)
        by_site = covering(engineers, args.sites)
        now = timezone.now()
        plans = [tickets_plan(random.Random(args.seed * 7919 + i), args.tickets, now, policies) for i in
                 range(args.sites)]  # fmt: skip
        assignees_plan(rng, plans, engineers, by_site)
    loads = sorted(e.load / e.capacity for e in engineers if e.is_active)
    log(
        f"  plan: {sum(len(p) for p in plans):,} tickets, {sum(t.status not in FINISHED for p in plans for t in p):,} "
        f"open; loads of active engineers {min(loads):.0%}-{max(loads):.0%} of capacity (median "
        f"{statistics.median(loads):.0%}); me: {engineers[0].load} open tickets; sites covered per site "
        f"{min(len(c) for c in by_site)}-{max(len(c) for c in by_site)}"
    )
    with setup.timed("engineers (100 users and profiles)"):
        users = engineers_create(engineers)
    sites: list[Client] = []
    start = time.perf_counter()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        from django.core import mail

        for index in range(args.sites):
            with setup.timed("provision_site()"):
                site = site_provision(index)
            with setup.timed("requesters, tickets (bulk_create) and ticket_index_rebuild()"):
                site_fill(site, plans[index], users, now)
            sites.append(site)
            mail.outbox = []
            if len(sites) == SMALL:
                on_small(users[0])
                start = time.perf_counter()
            elif len(sites) % 100 == 0:
                log(f"  {len(sites):,} sites ({time.perf_counter() - start:.0f} s since the last report)")
                start = time.perf_counter()
    with setup.timed("regional coverage (M2M rows)"):
        coverage_create(engineers, sites)
    index_sample_check(sites, rng, problems)
    if Client.objects.filter(subdomain__startswith=PREFIX).count() != args.sites:
        problems.append("the number of sites is wrong")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    STEADY_WAIT[0] = args.steady_wait
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from shared_apps.accounts.models import User
    from shared_apps.engineers.models import TicketIndex
    from shared_apps.tenancy.selectors import client_sites_queryset

    if settings.DEBUG:
        log("warning: DEBUG is on (query log in memory, development static files); run with DEBUG=0")
    log(
        f"database {connection.settings_dict['NAME']}, {args.sites:,} sites x {args.tickets} tickets, "
        f"{args.runs} runs, {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, "
        f"Django {django.get_version()}, CONN_MAX_AGE {connection.settings_dict['CONN_MAX_AGE']}"
    )
    log(f"CPU probes at the start: {', '.join(ms(cpu_probe()) for _ in range(5))} ms")
    problems: list[str] = []
    sizes: list[Size] = []
    setup = Setup()
    total = time.perf_counter()
    with setup.timed("migrate"):
        migrate_if_needed()
    existing = client_sites_queryset().filter(subdomain__startswith=PREFIX).count()
    complete = existing == args.sites and TicketIndex.objects.count() == args.sites * args.tickets
    if args.measure_only and not complete:
        raise SystemExit(f"--measure-only needs the filled database ({args.sites:,} sites x {args.tickets} tickets); "
                         f"it has {existing:,} sites of this benchmark")  # fmt: skip
    if existing == 0 and client_sites_queryset().exists():
        raise SystemExit("The database has other client sites: use a database of its own.")
    if existing == 0:

        def on_small(me: User) -> None:
            with setup.timed(f"measurement at {SMALL} sites (not setup)"):
                settle()
                log(f"  data at {SMALL} sites: {data_summary(me)}")
                sizes.append(size_measure(me, SMALL, args, problems))

        fill(args, setup, problems, on_small)
    elif not complete:
        raise SystemExit(f"The database has {existing} sites of this benchmark and not the full set: use a new one.")
    else:
        log(f"reusing the {existing:,} sites already there; the {SMALL}-site measurement is skipped")
    if args.measure_only and args.skip_vacuum:
        log("VACUUM (ANALYZE) and CHECKPOINT skipped (--skip-vacuum)")
    else:
        with setup.timed("VACUUM (ANALYZE) and CHECKPOINT"):
            settle()
    small = setup.seconds.pop(f"measurement at {SMALL} sites (not setup)", 0.0)
    log("setup, seconds: " + ", ".join(f"{label} {seconds:.1f}" for label, seconds in setup.seconds.items()))
    log(
        f"setup wall time: {time.perf_counter() - total - small:.0f} s "
        f"(without the {SMALL}-site measurement, {small:.0f} s)"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        log(f"database size: {cursor.fetchone()[0]}")

    me = User.objects.get(email=ME)
    log(f"data at {args.sites:,} sites: {data_summary(me)}")
    sizes.append(size_measure(me, args.sites, args, problems))
    assignment = None
    if not args.measure_only:
        sites = list(client_sites_queryset().filter(subdomain__startswith=PREFIX).order_by("subdomain"))
        assignment = assignment_measure(sites, args, problems)

    log("\n" + queue_table(sizes) + "\n")
    log(f"Where the time goes (medians over {args.profile_runs} more requests of each tab, every query timed):")
    log(breakdown_table(sizes) + "\n")
    log(loop_table(sizes) + "\n")
    if assignment is not None:
        log(assignment_table(assignment, ENGINEERS) + "\n")
        log(
            "assignment queries (median ms): "
            + ", ".join(f"{name} {ms(seconds)}" for name, seconds, _sql, _params in assignment.query_summary())
        )
        log(
            f"assignment outcomes: {dict(assignment.outcomes)}; eligible engineers per call: median "
            f"{statistics.median(assignment.candidates):.0f}, {min(assignment.candidates)}-"
            f"{max(assignment.candidates)}; every decision equal to the plain-Python rule: "
            f"{'yes' if not assignment.mismatches else 'NO'}"
        )
    for size in sizes:
        log(f"new database connections during the timed requests at {size.sites:,} sites: {size.reconnects}")
        log(
            f"load average (uptime) at {size.sites:,} sites: {size.load[0]} before the timed requests, "
            f"{size.load[1]} after; full garbage collections during them: {size.collections[0]} "
            f"({ms(size.collections[1])} ms in all; gc {args.gc})"
        )
        log(f"page at {size.sites:,} sites: {size.page_kb:.0f} KB of HTML, {size.options:,} <option> elements")
        if size.menu[2]:
            log(
                f"site filter menu at {size.sites:,} sites ({size.menu[2]:,} sites), as before 4f5e91c: query "
                f"and Client rows {ms(size.menu[0])} ms, rendering its loop {ms(size.menu[1])} ms (medians)"
            )
        if size.site_filter_queries:
            log(f"queries with ?site=<one site> at {size.sites:,} sites: {size.site_filter_queries}")
    counts = {(size.sites, tab): len(s.queries) for size in sizes for tab, s in size.scenarios.items()}
    log(f"queries per request: {counts}")
    constant = len({len(s.queries) for size in sizes for s in size.scenarios.values()}) == 1
    if len(sizes) > 1:
        log(f"same number of queries at {sizes[0].sites} and {sizes[-1].sites:,} sites: {'yes' if constant else 'NO'}")
    for size in sizes:
        log("\n" + query_table(size))
    if assignment is not None:
        log("\nWhat would make the TicketIndex queries fast (EXPLAIN ANALYZE, no product code changed):")
        loads = assignment.query_summary()[1]
        extra = [("Assignment: open tickets of the candidates (the slowest call's)", loads[2], loads[3])]
        log(what_if_table(what_if(sizes[-1], extra), sizes[-1].sites) + "\n")
    for line in sizes[-1].explains:
        log(line)
    if assignment is not None:
        for name, seconds, sql, params in assignment.query_summary():
            log(f"Assignment, {name} (median {ms(seconds)} ms; the slowest call's):\n  {sql}\n  params {params}")
            for line in explain(sql, params):
                log(f"    {line}")
    for size in sizes:
        for check in size.checks:
            log(f"check: {check}")
    largest = sizes[-1]
    slow = [TABS[s.tab] for s in largest.scenarios.values() if p95(s.samples) * 1000 >= TARGET_MS]
    log(f"p95 under {TARGET_MS:.0f} ms at {largest.sites:,} sites: {'yes' if not slow else 'NO: ' + ', '.join(slow)}")
    parts = []
    for s in largest.scenarios.values():
        loop = statistics.median(s.loop_samples)
        parts.append(
            f"{TABS[s.tab]} median {ms(statistics.median(s.samples))} p95 {ms(p95(s.samples))} max "
            f"{ms(max(s.samples))} ms, {len(s.queries)} queries, loop/index "
            f"{loop / statistics.median(s.index_samples):,.0f}x, "
            f"loop/request {loop / statistics.median(s.samples):,.0f}x"
        )
    log(f"SUMMARY at {largest.sites:,} sites (load average {largest.load[0]} -> {largest.load[1]}, gc {args.gc}): "
        + "; ".join(parts))  # fmt: skip
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
