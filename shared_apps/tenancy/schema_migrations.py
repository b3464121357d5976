"""Migrating many sites fast: find the schemas that are behind in one query, migrate only those.

django-tenants' `migrate_schemas` runs Django's whole `migrate` command in every schema, even
when nothing is pending (about 125 ms per schema, so minutes at 1,000 sites before any work).
Here the order is: the public schema, then the template (`TENANT_BASE_SCHEMA`, which new sites
are cloned from, so it defines "current"), then one query compares every site's
`django_migrations` with the template's, and only the sites missing a migration are migrated,
each by django-tenants' own per-schema runner (`run_migrations`, the code `migrate_schemas`
uses, so `post_migrate` creates content types and permissions as usual), in worker processes
with a database connection each. A site that fails is reported and the others go on.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections

_LOCK = 7_360_002  # pg_advisory_lock key: one migrate_sites at a time


class MigrateSitesBusy(Exception):
    pass


@dataclass(frozen=True)
class SiteOutcome:
    schema: str
    ok: bool
    seconds: float
    output: str = ""  # the migrate command's output; the error on failure


@dataclass
class MigrateReport:
    public_pending: int = 0  # migrations the public schema lacked
    template_pending: int = 0
    behind: list[str] = field(default_factory=list)  # sites missing some of the template's migrations
    up_to_date: int = 0
    migrated: list[SiteOutcome] = field(default_factory=list)
    failed: list[SiteOutcome] = field(default_factory=list)
    find_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def schema_pending_migrations(schema: str) -> list[str]:
    """The migrations (app.name) the code has and `schema` has not applied, in plan order."""

    connection.set_schema(schema, include_public=False)
    try:
        return _pending()
    finally:
        connection.set_schema_to_public()


# One statement for all sites: for each site row, count the template's migrations its own
# django_migrations lacks. query_to_xml() runs the per-schema anti-join as dynamic SQL inside the
# one query (no helper function to install); a site whose schema or table is missing gets -1.
_BEHIND_SQL = """
SELECT c.schema_name,
       CASE WHEN to_regclass(format('%%I.django_migrations', c.schema_name)) IS NULL THEN -1
       ELSE (xpath('/row/n/text()', query_to_xml(format(
           'SELECT count(*) AS n FROM %%I.django_migrations t WHERE NOT EXISTS '
           '(SELECT 1 FROM %%I.django_migrations m WHERE m.app = t.app AND m.name = t.name)',
           %(template)s, c.schema_name), false, true, '')))[1]::text::int
       END AS missing
FROM tenancy_client c
WHERE c.schema_name NOT IN (%(public)s, %(template)s)
ORDER BY c.schema_name
"""


def sites_behind() -> tuple[list[str], int]:
    """(schemas missing at least one of the template's migrations, how many sites are current)."""
    with connection.cursor() as cursor:
        cursor.execute(_BEHIND_SQL, {"template": settings.TENANT_BASE_SCHEMA, "public": settings.PUBLIC_SCHEMA_NAME})
        rows = cursor.fetchall()
    behind = [schema for schema, missing in rows if missing != 0]
    return behind, len(rows) - len(behind)


def _migrate_options(verbosity: int) -> dict:
    """Django's `migrate` defaults, as `migrate_schemas` would pass them."""
    from django_tenants.utils import get_tenant_base_migrate_command_class

    parser = get_tenant_base_migrate_command_class()().create_parser("manage.py", "migrate")
    options = vars(parser.parse_args([]))
    options.update(verbosity=verbosity, interactive=False, skip_checks=True, database="default")
    return options


def migrate_schema(schema: str, verbosity: int = 1) -> SiteOutcome:
    """Apply every pending migration to one schema (in this process, on its own connection)."""
    from django_tenants.migration_executors.base import run_migrations

    start = time.perf_counter()
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            run_migrations(
                args=[],
                options=_migrate_options(verbosity),
                executor_codename="migrate_sites",
                schema_name=schema,
            )
    except Exception as error:  # noqa: BLE001 - reported per site; the others go on
        connections["default"].close()
        output = buffer.getvalue() + f"\n{type(error).__name__}: {error}"
        return SiteOutcome(schema=schema, ok=False, seconds=time.perf_counter() - start, output=output.strip())
    return SiteOutcome(schema=schema, ok=True, seconds=time.perf_counter() - start, output=buffer.getvalue())


def _worker_init() -> None:
    # Started with "spawn": a fresh interpreter that sets Django up and opens its own connection.
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()


def _worker_migrate(job: tuple[str, int]) -> SiteOutcome:
    schema, verbosity = job
    return migrate_schema(schema, verbosity)


def _run_parallel(schemas: list[str], jobs: int, verbosity: int) -> Iterator[SiteOutcome]:
    if jobs <= 1 or len(schemas) <= 1:
        for schema in schemas:
            yield migrate_schema(schema, verbosity)
        connection.set_schema_to_public()
        return
    import multiprocessing

    # "spawn", not "fork": a forked child would share this process's database socket.
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=min(jobs, len(schemas)), initializer=_worker_init) as pool:
        yield from pool.imap_unordered(_worker_migrate, [(schema, verbosity) for schema in schemas])


def migrate_sites(
    *, jobs: int | None = None, verbosity: int = 1, log: Callable[[str], None] = print, only_find: bool = False
) -> MigrateReport:
    """Public, template, then the sites that are behind, `jobs` at a time. Never raises for a
    failing site: its outcome is in `report.failed`."""
    from django.core.management import call_command

    from shared_apps.tenancy.provisioning import template_ensure

    started = time.perf_counter()
    report = MigrateReport()
    jobs = jobs or os.cpu_count() or 1
    connection.set_schema_to_public()
    # The lock lives on a connection of its own: the migration runner closes the default one.
    lock = connections.create_connection("default")
    with lock.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK])
        if not cursor.fetchone()[0]:
            lock.close()
            raise MigrateSitesBusy("another migrate_sites is running on this database")
    try:
        pending = _pending()
        report.public_pending = len(pending)
        if pending:
            log(f"public: {len(pending)} migration(s) to apply")
            if not only_find:
                call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        else:
            log("public: up to date")
        connection.set_schema_to_public()
        template = template_ensure()
        pending = schema_pending_migrations(template.schema_name)
        report.template_pending = len(pending)
        if pending:
            log(f"{template.schema_name}: {len(pending)} migration(s) to apply")
            if not only_find:
                outcome = migrate_schema(template.schema_name, verbosity)
                connection.set_schema_to_public()
                if not outcome.ok:
                    # Sites are compared with the template: without it there is nothing to aim at.
                    report.failed.append(outcome)
                    log(f"{template.schema_name}: FAILED\n{outcome.output}")
                    return report
        else:
            log(f"{template.schema_name}: up to date")

        find_start = time.perf_counter()
        report.behind, report.up_to_date = sites_behind()
        behind = report.behind
        report.find_seconds = time.perf_counter() - find_start
        log(
            f"sites: {len(behind)} behind, {report.up_to_date} up to date "
            f"(found in {report.find_seconds * 1000:.0f} ms)"
        )
        if only_find or not behind:
            return report
        connection.close()  # the workers open their own; this process only holds the lock
        width = len(str(len(behind)))
        for done, outcome in enumerate(_run_parallel(behind, jobs, verbosity), start=1):
            prefix = f"[{done:>{width}}/{len(behind)}] {outcome.schema}:"
            if outcome.ok:
                report.migrated.append(outcome)
                log(f"{prefix} migrated in {outcome.seconds:.2f} s")
            else:
                report.failed.append(outcome)
                log(f"{prefix} FAILED in {outcome.seconds:.2f} s\n{_indent(outcome.output)}")
    finally:
        report.seconds = time.perf_counter() - started
        connection.set_schema_to_public()
        lock.close()  # ends the session, which releases the lock
    return report


def _pending() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines()[-20:])
