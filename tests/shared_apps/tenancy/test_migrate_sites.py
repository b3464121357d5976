"""`manage.py migrate_sites`, run as a real process against the test database.

Two throwaway sites are made behind for real (the tickets migrations after 0005 reverted); in one
of them an index of the same name as the one 0006 creates is in the way, so applying it fails.
Every other site is current and must be left alone.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from shared_apps.tenancy.models import Client
from shared_apps.tenancy.provisioning import provision_site
from shared_apps.tenancy.services import site_delete
from tests.processes import committed, database_url

KEEP = "0005_attachments"


@pytest.fixture
def manage(world):
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "TESTING": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def migration_state() -> dict[str, tuple]:
    """Per schema with a site row: (how many migrations, the last id, the last applied time)."""

    def read():
        state = {}
        with connection.cursor() as cursor:
            for schema in Client.objects.values_list("schema_name", flat=True):
                cursor.execute(f'SELECT count(*), max(id), max(applied) FROM "{schema}".django_migrations')  # noqa: S608
                state[schema] = cursor.fetchone()
        return state

    return committed(read)


def tickets_after_keep(schema: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT app, name, applied FROM "{schema}".django_migrations '  # noqa: S608
            "WHERE app = 'tickets' AND name > %s ORDER BY id",
            [KEEP],
        )
        return cursor.fetchall()


@pytest.fixture
def two_sites(world):
    def make():
        return [provision_site(name=f"Mig {n}", subdomain=f"mig-{n}", admin_email=f"a@mig-{n}.example") for n in (1, 2)]

    sites = committed(make)
    yield sites

    def drop():
        for site in sites:
            site_delete(client=Client.objects.get(pk=site.pk), by=None, confirmation=site.subdomain)

    committed(drop)


def test_no_op_run_touches_no_schema(manage):
    before = migration_state()
    result = manage("migrate_sites", "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public: up to date" in result.stdout
    assert f"{settings.TENANT_BASE_SCHEMA}: up to date" in result.stdout
    assert "sites: 0 behind" in result.stdout
    assert "Summary: 0 migrated, 0 failed" in result.stdout
    assert migration_state() == before


def test_behind_site_is_migrated_failing_site_is_reported_others_are_skipped(manage, two_sites):
    behind, broken = two_sites

    def make_behind():
        # Real reverts: both schemas really lack what those migrations create...
        for site in two_sites:
            call_command(
                "migrate_schemas", "tickets", KEEP, schema_name=site.schema_name, interactive=False, verbosity=0
            )
            connection.set_schema_to_public()
        saved["rows"] = tickets_after_keep(behind.schema_name)
        # ...but in one of them something is in the way: applying 0006 again fails.
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE INDEX ticket_recent ON "{broken.schema_name}".tickets_ticket (id)')

    saved = {"applied": committed(lambda: tickets_after_keep(settings.TENANT_BASE_SCHEMA))}
    committed(make_behind)
    assert saved["applied"], "the tickets app has migrations after 0005"
    assert saved["rows"] == []
    before = migration_state()
    result = manage("migrate_sites", "--jobs", "2")

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "sites: 2 behind" in output
    assert f"{behind.schema_name}: migrated in" in output
    assert f"{broken.schema_name}: FAILED" in output
    assert 'relation "ticket_recent" already exists' in output
    assert "Summary: 1 migrated, 1 failed" in output
    assert f"1 site(s) failed: {broken.schema_name}" in output

    after = migration_state()
    # The sites that were current were not touched at all.
    for schema, state in before.items():
        if schema not in (behind.schema_name, broken.schema_name):
            assert after[schema] == state, schema
    # The behind site has its migrations and the index they create again.
    assert [row[:2] for row in committed(lambda: tickets_after_keep(behind.schema_name))] == [
        row[:2] for row in saved["applied"]
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = 'ticket_recent'",
            [behind.schema_name],
        )
        assert cursor.fetchone()[0] == 1


def test_check_reports_without_migrating(manage, two_sites):
    behind = two_sites[0]

    def make_behind():
        call_command("migrate_schemas", "tickets", KEEP, schema_name=behind.schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()

    committed(make_behind)
    result = manage("migrate_sites", "--check")
    assert result.returncode == 1
    assert "sites: 1 behind" in result.stdout
    assert "Migrations are pending." in result.stderr
    assert committed(lambda: tickets_after_keep(behind.schema_name)) == []


def test_a_second_run_at_the_same_time_is_refused(manage):
    from django.db import connections

    from shared_apps.tenancy.schema_migrations import _LOCK

    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        result = manage("migrate_sites")
    finally:
        holder.close()
    assert result.returncode == 1
    assert "another migrate_sites is running on this database" in result.stderr
