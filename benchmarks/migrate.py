"""Migrating 1,000 sites: `migrate_sites` against django-tenants' `migrate_schemas`, in one run.

Measured, each as a real `python manage.py ...` process timed from start to exit (Django start-up
included, as an operator sees it):

1. No-op: nothing is pending anywhere.
   - `migrate_sites` (ours: one query finds the sites behind, none are), `--runs` times;
   - `migrate_schemas` (standard executor: Django's migrate command in every schema), once;
   - `migrate_schemas --executor=multiprocessing` (a fork pool,
     TENANT_MULTIPROCESSING_MAX_PROCESSES processes), once.
2. One real migration: a new migration adds a nullable column to `tickets_ticket` in every site
   (and the template). Each tool gets its own migration (bench_a, bench_b, bench_c: the same
   operation on a different column), so each does the same amount of work on the same sites.
   After each run the script checks that every site schema and the template have the column.

The migrations come from a throwaway copy of `tenant_apps/tickets/migrations` in a temporary
directory (settings `benchmarks.migrate_settings` point MIGRATION_MODULES at it), so nothing is
added to the repository. At the end the columns and their `django_migrations` rows are removed
again, so the database is back where it started (skip with --keep).

The sites are real, complete sites made by `provision_site()` (fast clone), subdomains
bench-00001..., as in benchmarks/provision.py. `uptime` is printed before and after each
measurement: the machine is shared.

    createdb -h 127.0.0.1 -U postgres tenantdesk_opsbench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_opsbench DEBUG=0 EMAIL_URL=file:///tmp/bench-mail
    .venv/bin/python manage.py migrate --noinput
    .venv/bin/python -m benchmarks.migrate --sites 1000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("bench_a", "bench_b", "bench_c")
MODULE = "bench_tickets_migrations"


def log(message: str) -> None:
    print(message, flush=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: S607


def run_manage(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        log(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit status {result.returncode}")
    return seconds, result


def measured(label: str, args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    log(f"  {label}: manage.py {' '.join(args)}")
    log(f"    before: {uptime()}")
    seconds, result = run_manage(args, env)
    log(f"    after:  {uptime()}")
    log(f"    {seconds:.2f} s")
    return seconds, result


def throwaway_migrations(workdir: Path) -> Path:
    package = workdir / MODULE
    package.mkdir()
    for source in (ROOT / "tenant_apps" / "tickets" / "migrations").glob("*.py"):
        shutil.copy(source, package / source.name)
    return package


def add_column_migration(package: Path, column: str) -> str:
    """Write the next migration (after the current leaf) adding `column`; return its name."""
    names = sorted(p.stem for p in package.glob("[0-9][0-9][0-9][0-9]_*.py"))
    leaf = names[-1]
    name = f"{int(leaf[:4]) + 1:04d}_{column}"
    (package / f"{name}.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('tickets', '{leaf}')]\n"
        f"    operations = [migrations.AddField('ticket', '{column}', models.IntegerField(null=True))]\n"
    )
    return name


def schemas_with_column(column: str) -> tuple[int, int]:
    """(site schemas plus template having tickets_ticket.column, site schemas plus template)."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenancy_client WHERE schema_name <> %s", [settings.PUBLIC_SCHEMA_NAME])
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns c JOIN tenancy_client t ON t.schema_name = c.table_schema "
            "WHERE c.table_name = 'tickets_ticket' AND c.column_name = %s",
            [column],
        )
        return cursor.fetchone()[0], total


def clean_up() -> None:
    """Drop the benchmark's columns and forget its migrations, in every schema."""
    from django.db import connection

    from shared_apps.tenancy.schema_names import quote_ident

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_schema FROM information_schema.columns "
            "WHERE table_name = 'tickets_ticket' AND column_name = ANY(%s)",
            [list(COLUMNS)],
        )
        for (schema,) in cursor.fetchall():
            drops = ", ".join(f"DROP COLUMN IF EXISTS {column}" for column in COLUMNS)
            cursor.execute(f"ALTER TABLE {quote_ident(schema)}.tickets_ticket {drops}")
        cursor.execute("SELECT nspname FROM pg_namespace n JOIN tenancy_client c ON c.schema_name = n.nspname")
        for (schema,) in cursor.fetchall():
            cursor.execute(
                f"DELETE FROM {quote_ident(schema)}.django_migrations WHERE app = 'tickets' AND name ~ '_bench_[abc]$'"  # noqa: S608
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="no-op runs of migrate_sites (median reported)")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's columns in place")
    parser.add_argument("--skip-noop", action="store_true", help="measure only the real migration")
    parser.add_argument("--tools", default="ours,dt,dt-mp", help="which tools apply a real migration")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.migrate_settings")
    import django

    django.setup()
    from benchmarks.provision import fill_to, settle

    log(f"uptime at start: {uptime()}")
    log(f"Filling to {args.sites} sites (provision_site, fast clone)...")
    fill_to(args.sites)
    clean_up()
    settle()

    workdir = Path(tempfile.mkdtemp(prefix="tenantdesk-migrate-bench-"))
    package = throwaway_migrations(workdir)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.migrate_settings",
        "BENCH_TICKETS_MIGRATIONS": MODULE,
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    results: dict[str, float] = {}
    try:
        if not args.skip_noop:
            noop(args, env, results)
        real(package, env, results, args.tools.split(","))
    finally:
        if not args.keep:
            clean_up()
        shutil.rmtree(workdir, ignore_errors=True)

    log(f"\nuptime at end: {uptime()}")
    log("\n| run | migrate_sites | migrate_schemas | migrate_schemas --executor=multiprocessing |")
    log("|---|---:|---:|---:|")
    for kind, title in (("noop", "no-op"), ("real", "add one column")):
        cells = [
            f"{results[f'{kind} {t}']:.1f} s" if f"{kind} {t}" in results else "-" for t in ("ours", "dt", "dt-mp")
        ]
        log(f"| {title}, {args.sites:,} sites | {' | '.join(cells)} |")
    return 0


def noop(args, env: dict[str, str], results: dict[str, float]) -> None:
    log("\nNo-op (nothing pending):")
    runs = [measured(f"migrate_sites run {i + 1}", ["migrate_sites"], env) for i in range(args.runs)]
    results["noop ours"] = statistics.median(seconds for seconds, _ in runs)
    found = [float(m) for _, r in runs for m in re.findall(r"found in (\d+) ms", r.stdout)]
    log(f"    the 'which sites are behind' query: {', '.join(f'{ms:.0f} ms' for ms in found)}")
    results["noop dt"], _ = measured("migrate_schemas (standard)", ["migrate_schemas", "--noinput"], env)
    results["noop dt-mp"], _ = measured(
        "migrate_schemas (multiprocessing)", ["migrate_schemas", "--noinput", "--executor=multiprocessing"], env
    )


def real(package: Path, env: dict[str, str], results: dict[str, float], only: list[str]) -> None:
    log("\nOne real migration (add a nullable column to tickets_ticket in every site):")
    tools = (
        ("ours", ["migrate_sites"]),
        ("dt", ["migrate_schemas", "--noinput"]),
        ("dt-mp", ["migrate_schemas", "--noinput", "--executor=multiprocessing"]),
    )
    for column, (tool, command) in zip(COLUMNS, tools, strict=True):
        if tool not in only:
            continue
        name = add_column_migration(package, column)
        seconds, result = measured(f"{tool}: applying tickets.{name}", command, env)
        results[f"real {tool}"] = seconds
        have, total = schemas_with_column(column)
        log(f"    {have} of {total} schemas (sites + template) have {column}")
        if have != total:
            raise SystemExit(f"{tool} left {total - have} schemas without {column}")
        if tool == "ours":
            log("    " + result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
