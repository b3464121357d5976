"""Provisioning benchmark: the time to create one client site as the number of existing sites grows.

Measured in one run, at each size (default 1, 200 and 1,000 existing client sites; the public row
and the template do not count), `--runs` times (default 7), reporting median, min and max:

(a) ours: `provision_site()` end to end, timed around the call: validation, the Client row and its
    Domain, the schema (our DDL script, read once from `tenant_template`, replayed), the default
    categories and AI settings, the invitation, the COMMIT and the invitation email sent after it
    (with REDIS_URL unset, Celery tasks run in-process, eagerly, after commit).
(b) DT clone: django-tenants' own clone path. `Client(...).save()` with `auto_create_schema` on,
    `TENANT_CREATION_FAKES_MIGRATIONS=True` and `TENANT_BASE_SCHEMA="tenant_template"`, so
    `TenantMixin.create_schema()` calls its `clone_schema()` PL/pgSQL function and then
    `migrate_schemas --fake`. The script checks that the clone function really ran.
(c) DT migrate: `Client(...).save()` with `auto_create_schema` on and
    `TENANT_CREATION_FAKES_MIGRATIONS=False`: `CREATE SCHEMA`, then `migrate_schemas` for the new
    schema, every tenant migration replayed.

How: the database is filled up to each size with real, complete sites made by `provision_site()`
(subdomains bench-00001, bench-00002, ...), so the catalogs hold every table of every site; then
`VACUUM (ANALYZE)` and `CHECKPOINT` run (not timed) so no vacuum or checkpoint of the fill's writes
lands in the middle of the measurements. At each size each method then runs `--runs` times in a
row: not interleaved, because django-tenants' `migrate_schemas` closes the database connection, and
a provision_site() right after it would pay a reconnect and a cold backend that a web process with
persistent connections does not. Every measured site is checked (same number of tables, indexes,
constraints and migration rows as the template), then removed (schema dropped, rows deleted), so
each measurement sees exactly the stated number of existing sites. One warm-up of each method runs
first and is not counted: it builds the template if needed and fills our in-process DDL script
cache, as a long-running web process has it; the cold first call is printed separately. How busy
the whole machine was during each method's runs is printed too (other work on the machine shows up
there). `--breakdown` adds, per size, extra runs of (a) with each step timed separately (not
counted in the main table).

Run from the project root against a database of its own (it is filled with sites and not emptied):

    createdb -h 127.0.0.1 -U postgres tenantdesk_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_bench DEBUG=0 EMAIL_URL=file:///tmp/bench-mail
    .venv/bin/python manage.py migrate --noinput
    DJANGO_SETTINGS_MODULE=saas.settings .venv/bin/python -m benchmarks.provision --sizes 1,200,1000 --runs 7
    dropdb -h 127.0.0.1 -U postgres tenantdesk_bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import django

if TYPE_CHECKING:
    from shared_apps.tenancy.models import Client

OURS, DT_CLONE, DT_MIGRATE = "ours", "dt-clone", "dt-migrate"
METHODS = (OURS, DT_CLONE, DT_MIGRATE)
METHOD_TITLES = {OURS: "Our service", DT_CLONE: "DT clone", DT_MIGRATE: "DT migrate"}
FILL_PREFIX = "bench-"  # the sites that make up the "existing sites"
RUN_PREFIX = "run-"  # measured sites, removed right after each measurement
TARGET_MS = 150.0
FLAT_TOLERANCE = 0.20  # largest size's median within 20 % of the smallest size's

# Steps of provision_site() timed by --breakdown, in call order: (label, module, attribute), plus
# the COMMIT and the after-commit hooks (the eager email task, "send email" included). "clone
# script" is the clone call minus the fingerprint query it makes; "other" is the rest of the total
# (Client and Domain inserts, savepoints, task dispatch).
BREAKDOWN_STEPS = (
    ("validate", "shared_apps.tenancy.provisioning", "site_validate"),
    ("template lookup", "shared_apps.tenancy.provisioning", "template_ensure"),
    ("fingerprint query", "shared_apps.tenancy.schema_clone", "template_fingerprint"),
    ("clone", "shared_apps.tenancy.provisioning", "clone_template_schema"),
    ("defaults", "shared_apps.tenancy.provisioning", "site_seed_defaults"),
    ("invitation", "shared_apps.tenancy.services", "invitation_create"),
    ("send email", "shared_apps.tenancy.tasks", "send_mail"),
)
BREAKDOWN_ROWS = (
    "validate",
    "template lookup",
    "fingerprint query",
    "clone script",
    "defaults",
    "invitation",
    "COMMIT",
    "after commit",
    "send email",
    "other",
    "total",
)


@dataclass
class Results:
    samples: dict[tuple[int, str], list[float]] = field(default_factory=lambda: defaultdict(list))  # seconds
    steps: dict[tuple[int, str], list[float]] = field(default_factory=lambda: defaultdict(list))  # seconds
    problems: list[str] = field(default_factory=list)


# --- creating and removing sites ---------------------------------------------------------------


def create_ours(subdomain: str) -> tuple[float, Client]:
    from shared_apps.tenancy.provisioning import provision_site

    start = time.perf_counter()
    client = provision_site(
        name=f"Bench {subdomain}", subdomain=subdomain, admin_email=f"admin+{subdomain}@example.com"
    )
    return time.perf_counter() - start, client


def create_dt(subdomain: str, *, clone: bool) -> tuple[float, Client]:
    """django-tenants' own path: save a new tenant row with auto_create_schema on."""
    from django.conf import settings
    from django.test import override_settings
    from django_tenants.clone import CloneSchema

    from shared_apps.tenancy.models import Client
    from shared_apps.tenancy.schema_names import schema_name_for

    with (
        override_settings(TENANT_CREATION_FAKES_MIGRATIONS=clone, TENANT_BASE_SCHEMA=settings.TENANT_BASE_SCHEMA),
        count_calls(CloneSchema, "clone_schema") as clone_calls,
    ):
        client = Client(schema_name=schema_name_for(subdomain), name=f"Bench {subdomain}", subdomain=subdomain)
        client.auto_create_schema = True  # the class says False: provisioning builds schemas itself
        start = time.perf_counter()
        client.save(verbosity=0)
        elapsed = time.perf_counter() - start
    expected = 1 if clone else 0
    if clone_calls[0] != expected:
        raise RuntimeError(f"{subdomain}: CloneSchema.clone_schema ran {clone_calls[0]} times, expected {expected}")
    return elapsed, client


def create(method: str, subdomain: str) -> tuple[float, Client]:
    if method == OURS:
        return create_ours(subdomain)
    return create_dt(subdomain, clone=method == DT_CLONE)


def site_remove(client: Client) -> None:
    from django.db import connection, transaction

    from shared_apps.tenancy.schema_names import quote_ident

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(client.schema_name)} CASCADE")
        client.delete()


def remove_leftovers() -> None:
    """Measured sites left by an interrupted run: rows first, then any schema without a row."""
    from django.db import connection

    from shared_apps.tenancy.schema_names import quote_ident
    from shared_apps.tenancy.selectors import client_sites_queryset

    for client in client_sites_queryset().filter(subdomain__startswith=RUN_PREFIX):
        site_remove(client)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [r"s\_run\_%"])
        for (schema,) in cursor.fetchall():
            cursor.execute(f"DROP SCHEMA {quote_ident(schema)} CASCADE")


def settle() -> None:
    """Bring statistics up to date (catalogs included) and flush dirty pages, so every size is
    measured on a database in the steady state autovacuum would keep it in, without a vacuum or a
    checkpoint of the fill's writes running in the middle of the measurements."""
    from django.db import DatabaseError, connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as error:  # needs superuser or pg_checkpoint
            log(f"  CHECKPOINT skipped: {error}")
    log(f"  VACUUM (ANALYZE) and CHECKPOINT: {time.perf_counter() - start:.1f} s")


def fill_to(size: int) -> None:
    """Add real sites with provision_site() until there are `size` client sites."""
    from shared_apps.tenancy.provisioning import provision_site
    from shared_apps.tenancy.selectors import client_sites_queryset

    sites = client_sites_queryset()
    count = sites.count()
    if count > size:
        raise SystemExit(f"The database has {count} client sites, more than {size}: use an empty database.")
    taken = set(sites.filter(subdomain__startswith=FILL_PREFIX).values_list("subdomain", flat=True))
    start, index, added = time.perf_counter(), 0, 0
    while count < size:
        index += 1
        subdomain = f"{FILL_PREFIX}{index:05d}"
        if subdomain in taken:
            continue
        provision_site(name=f"Bench {index}", subdomain=subdomain, admin_email=f"admin{index}@example.com")
        count += 1
        added += 1
        if count % 100 == 0:
            log(f"  filled to {count} sites")
    if added:
        log(f"  added {added} sites in {time.perf_counter() - start:.1f} s")


# --- checks ----------------------------------------------------------------------------------


def schema_shape(schema: str) -> tuple[int, int, int, int]:
    """(tables, indexes, constraints, rows in django_migrations) of `schema`."""
    from django.db import connection

    from shared_apps.tenancy.schema_names import quote_ident

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE c.relkind = 'r'), count(*) FILTER (WHERE c.relkind = 'i'),
                   (SELECT count(*) FROM pg_constraint k WHERE k.connamespace = n.oid)
            FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid
            WHERE n.nspname = %s GROUP BY n.oid
            """,
            [schema],
        )
        row = cursor.fetchone()
        if row is None:
            return (0, 0, 0, 0)
        cursor.execute(f"SELECT count(*) FROM {quote_ident(schema)}.django_migrations")  # noqa: S608 (identifier quoted)
        return (*row, cursor.fetchone()[0])


def check_fill(template_shape: tuple[int, ...], results: Results) -> None:
    """Every filled site has as many tables as the template (one query for all of them)."""
    from django.db import connection

    from shared_apps.tenancy.selectors import client_sites_queryset

    schemas = list(client_sites_queryset().values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'r'
            WHERE n.nspname = ANY(%s) GROUP BY n.nspname HAVING count(c.oid) <> %s
            """,
            [schemas, template_shape[0]],
        )
        incomplete = [name for (name,) in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", [schemas])
        missing = len(schemas) - cursor.fetchone()[0]
    if incomplete or missing:
        results.problems.append(f"filled sites: {missing} without schema, incomplete: {incomplete[:5]}")


# --- measuring -------------------------------------------------------------------------------


@contextmanager
def count_calls(owner: Any, name: str) -> Iterator[list[int]]:
    """Count calls to `owner.name` (a function or method) while the block runs."""
    original = getattr(owner, name)
    calls = [0]

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(owner, name, counting)
    try:
        yield calls
    finally:
        setattr(owner, name, original)


@contextmanager
def step_timers() -> Iterator[dict[str, float]]:
    """Add the time spent in each step of provision_site() to the yielded dict (seconds)."""
    import importlib

    from django.db import connections

    totals: dict[str, float] = defaultdict(float)
    patched: list[tuple[Any, str, Any, bool]] = []

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - start

        patched.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, wrapper)

    for label, module, name in BREAKDOWN_STEPS:
        timed(importlib.import_module(module), name, label)
    connection = connections["default"]
    timed(connection, "commit", "COMMIT")
    timed(connection, "run_and_clear_commit_hooks", "after commit")
    try:
        yield totals
    finally:
        for owner, name, original, own_attribute in reversed(patched):
            if own_attribute:
                setattr(owner, name, original)
            else:
                delattr(owner, name)  # an instance attribute hiding the class's method


def measure_method(method: str, size: int, runs: int, template_shape: tuple[int, ...], results: Results) -> None:
    for run in range(runs):
        elapsed, client = create(method, f"{RUN_PREFIX}{method}-{size}-{run}")
        shape = schema_shape(client.schema_name)
        if shape != template_shape:
            results.problems.append(f"{method} at {size}: schema shape {shape}, template {template_shape}")
        site_remove(client)
        results.samples[(size, method)].append(elapsed)
    log(f"  {method}: " + ", ".join(ms(seconds) for seconds in results.samples[(size, method)]) + " ms")


def measure_breakdown(size: int, runs: int, results: Results) -> None:
    for run in range(runs):
        with step_timers() as totals:
            elapsed, client = create_ours(f"{RUN_PREFIX}steps-{size}-{run}")
        site_remove(client)
        totals["clone script"] = totals["clone"] - totals["fingerprint query"]
        accounted = ("validate", "template lookup", "clone", "defaults", "invitation", "COMMIT", "after commit")
        totals["other"] = elapsed - sum(totals[label] for label in accounted)
        totals["total"] = elapsed
        for label in BREAKDOWN_ROWS:
            results.steps[(size, label)].append(totals[label])


# --- reporting -------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class CpuCounters:
    """Machine-wide CPU counters from Linux /proc."""

    busy: int  # jiffies over all CPUs, neither idle, iowait nor steal
    steal: int  # jiffies the hypervisor gave to another machine
    total: int
    stall_us: int  # /proc/pressure/cpu "some": time at least one runnable task waited for a CPU


def cpu_counters() -> CpuCounters | None:
    try:
        with open("/proc/stat") as stat:
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
        with open("/proc/pressure/cpu") as pressure:
            stall_us = int(pressure.readline().rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    busy = user + nice + system + irq + softirq
    return CpuCounters(busy=busy, steal=steal, total=busy + idle + iowait + steal, stall_us=stall_us)


@contextmanager
def machine_load(label: str) -> Iterator[None]:
    """Log how busy the whole machine was while the block ran. Our own work is this process and one
    PostgreSQL backend taking turns, so about one CPU; well above that, something else was running."""
    start, started = cpu_counters(), time.perf_counter()
    yield
    end, wall = cpu_counters(), time.perf_counter() - started
    if start is None or end is None or end.total == start.total:
        return
    total = end.total - start.total
    log(
        f"  {label}: machine busy {(end.busy - start.busy) / total * (os.cpu_count() or 1):.2f} of "
        f"{os.cpu_count()} CPUs, steal {(end.steal - start.steal) / total:.1%}, "
        f"CPU pressure {(end.stall_us - start.stall_us) / 1e6 / wall:.1%}"
    )


def sites(count: int) -> str:
    return f"{count:,} site" if count == 1 else f"{count:,} sites"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def summary(samples: list[float]) -> str:
    return f"{ms(statistics.median(samples))} ({ms(min(samples))}-{ms(max(samples))})"


def results_table(sizes: list[int], results: Results) -> str:
    header = ["Existing sites"] + [f"{METHOD_TITLES[m]}: median (min-max), ms" for m in METHODS]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    for size in sizes:
        cells = [f"{size:,}"] + [summary(results.samples[(size, m)]) for m in METHODS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown_table(sizes: list[int], results: Results) -> str:
    header = ["Step of provision_site() (median, ms)"] + [sites(size) for size in sizes]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "|".join(["---:"] * len(sizes)) + "|"]
    for label in BREAKDOWN_ROWS:
        cells = [label] + [ms(statistics.median(results.steps[(size, label)])) for size in sizes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(sizes: list[int], results: Results) -> str:
    first, last = sizes[0], sizes[-1]
    low = statistics.median(results.samples[(first, OURS)])
    high = statistics.median(results.samples[(last, OURS)])
    change = (high - low) / low
    flat = abs(change) <= FLAT_TOLERANCE
    fast = max(statistics.median(results.samples[(size, OURS)]) for size in sizes) * 1000 < TARGET_MS
    return (
        f"Our service: median {ms(high)} ms at {last:,} sites vs {ms(low)} ms at {first:,} ({change:+.0%}): "
        f"{'within' if flat else 'NOT within'} {FLAT_TOLERANCE:.0%}. "
        f"Median under {TARGET_MS:.0f} ms at every size: {'yes' if fast else 'NO'}. "
        f"Target (under {TARGET_MS:.0f} ms and flat): {'met' if flat and fast else 'MISSED'}."
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,200,1000", help="existing client sites, comma-separated")
    parser.add_argument("--runs", type=int, default=7, help="measurements per method and size")
    parser.add_argument("--breakdown", action="store_true", help="also time each step of provision_site()")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    if not args.sizes or args.sizes[0] < 1 or args.runs < 1:
        parser.error("--sizes must be positive integers and --runs at least 1")
    return args


def timed_once(label: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = action()
    log(f"{label}: {ms(time.perf_counter() - start)} ms")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from shared_apps.tenancy.provisioning import template_ensure

    if settings.DEBUG:
        log("warning: DEBUG is on, every query is logged in memory; run with DEBUG=0")
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        log("warning: emails go to stdout; set EMAIL_URL=file:///tmp/bench-mail")
    log(f"database {connection.settings_dict['NAME']}, sizes {args.sizes}, {args.runs} runs, {os.cpu_count()} CPUs")

    results = Results()
    remove_leftovers()
    template = timed_once("template_ensure() (builds the template the first time)", template_ensure)
    template_shape = schema_shape(template.schema_name)
    log(f"template: {template_shape[0]} tables, {template_shape[1]} indexes, {template_shape[2]} constraints")

    # Warm-up, not counted: the first provision_site() in a process reads the template and builds
    # the DDL script; the first migrate_schemas loads the migration graph's modules.
    for method in METHODS:
        elapsed, client = create(method, f"{RUN_PREFIX}warmup-{method}")
        site_remove(client)
        log(f"warm-up {method} (first call in this process, not counted): {ms(elapsed)} ms")

    for size in args.sizes:
        log(f"at {sites(size)}")
        fill_to(size)
        check_fill(template_shape, results)
        settle()
        for method in METHODS:
            with machine_load(f"{method} machine load"):
                measure_method(method, size, args.runs, template_shape, results)
            if method == OURS and args.breakdown:
                measure_breakdown(size, args.runs, results)

    log("\n" + results_table(args.sizes, results) + "\n")
    if args.breakdown:
        log(breakdown_table(args.sizes, results) + "\n")
    log(verdict(args.sizes, results))
    for problem in results.problems:
        log(f"PROBLEM: {problem}")
    return 1 if results.problems else 0


if __name__ == "__main__":
    sys.exit(main())
