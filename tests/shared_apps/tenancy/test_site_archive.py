"""Site export and restore: a round trip loses nothing; a bad archive is refused and leaves nothing.

The round trip fills acme with tickets, replies, an internal note, attachments, a time entry, a
share (guardian), an assignment and an invitation, exports it, restores it as acme2 and compares
every table of the two schemas row by row (stored file names mapped to the new folder), the
site's public rows, the rebuilt indexes, and every stored file byte for byte.
"""

import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import tenant_context

from shared_apps.engineers.models import TicketIndex, TimeEntryIndex
from shared_apps.tenancy.archive import catalog
from shared_apps.tenancy.archive.export import site_export
from shared_apps.tenancy.archive.restore import ArchiveError, site_restore
from shared_apps.tenancy.models import Client, Invitation, Membership
from shared_apps.tenancy.schema_names import quote_ident
from shared_apps.tenancy.services import invitation_create, membership_grant
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Attachment, Ticket
from tests.conftest import ROOT, http
from tests.factories import user_create

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478da63f8cfc0f0"
    "1f0005000201a1d0a2c30000000049454e44ae426082"
)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def stored_files():
    """Folders written during the test, removed afterwards (the database is rolled back, files are not)."""
    folders: list[str] = []
    yield folders
    for folder in folders:
        for name in _walk(folder):
            default_storage.delete(name)


def _walk(prefix: str) -> list[str]:
    if not default_storage.exists(prefix.rstrip("/")):
        return []
    folders, files = default_storage.listdir(prefix)
    return [prefix + f for f in files] + [n for d in folders for n in _walk(f"{prefix}{d}/")]


def fill_acme(acme, users) -> None:
    staff, engineer = users["acme_staff"], users["engineer_acme"]
    colleague = user_create("colleague@acme.example", full_name="Cole League")
    membership_grant(user=colleague, client=acme, role="staff")
    invitation_create(client=acme, email="newbie@acme.example", role="staff", invited_by=users["acme_admin"])
    with tenant_context(acme):
        ticket = services.ticket_create(
            requester=staff,
            subject="Printer on fire",
            description="<p>It <b>smokes</b>, 'quotes', commas, \"double\"\nnew line \\ backslash</p>",
            priority="high",
            attachments=[upload("photo.png", PNG), upload("log.txt", b"line 1\nline 2\x01\n")],
        )
        services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
        services.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>On my way</p>")
        services.ticket_reply(
            ticket=ticket,
            actor=engineer,
            role="engineer",
            body="<p>internal</p>",
            internal=True,
            attachments=[upload("notes.txt", b"secret notes")],
        )
        ticket = Ticket.objects.get(pk=ticket.pk)  # as a new request would (services use the given row)
        services.time_entry_log(ticket=ticket, actor=engineer, role="engineer", minutes=25, billable=True, note="x")
        services.ticket_share(ticket=ticket, actor=staff, role="staff", colleague=colleague)
        services.ticket_create(requester=colleague, subject="Second, with ümlauts ✓", description="<p>ok</p>")
    connection.set_schema_to_public()


def table_rows(schema: str, table: str, file_columns: list[str], old_prefix: str, new_prefix: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quote_ident(schema)}.{quote_ident(table)}")  # noqa: S608
        names = [c.name for c in cursor.description]
        rows = []
        for row in cursor.fetchall():
            values = dict(zip(names, row, strict=True))
            for column in file_columns:
                if values[column]:
                    values[column] = values[column].replace(old_prefix, new_prefix, 1)
            rows.append(repr(sorted(values.items())))
    return sorted(rows)


def assert_same_tables(original: Client, restored: Client) -> None:
    """Every table of the tenant schema, row by row (ids kept; file names in the new folder)."""
    old_prefix, new_prefix = f"sites/{original.schema_name}/", f"sites/{restored.schema_name}/"
    with connection.cursor() as cursor:
        tables = catalog.tenant_tables(cursor, original.schema_name)
        assert [t.name for t in catalog.tenant_tables(cursor, restored.schema_name)] == [t.name for t in tables]
    file_columns = catalog.tenant_file_columns()
    for table in tables:
        columns = file_columns.get(table.name, [])
        before = table_rows(original.schema_name, table.name, columns, old_prefix, new_prefix)
        after = table_rows(restored.schema_name, table.name, [], "", "")
        assert after == before, table.name


def public_rows(model, client: Client, skip: set[str]) -> list:
    fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]
    client_field = next(f.attname for f in catalog.foreign_keys(model) if f.related_model is Client)
    return sorted(repr(row) for row in model.objects.filter(**{client_field: client.pk}).values_list(*fields))


def test_round_trip_loses_nothing(acme, users, tmp_path, stored_files):
    stored_files.append(f"sites/{acme.schema_name}/")
    fill_acme(acme, users)
    from django.core.files.base import ContentFile

    default_storage.save(f"sites/{acme.schema_name}/attachments/0/orphan", ContentFile(b"no row refers to me"))
    archive = tmp_path / "acme.zip"
    manifest = site_export(client=acme, out=archive)
    assert manifest["format_version"] == 1 and manifest["warnings"] == []
    assert {t["name"] for t in manifest["tables"]} >= {"tickets_ticket", "guardian_userobjectpermission", "auth_group"}
    assert len(manifest["files"]) == 3  # the files the rows refer to; not the orphan

    report = site_restore(path=archive, subdomain="acme2")
    acme2 = report.client
    stored_files.append(f"sites/{acme2.schema_name}/")
    assert (report.files, report.users_created, report.warnings) == (3, [], [])
    assert acme2.name == acme.name and acme2.plan_id == acme.plan_id

    assert_same_tables(acme, acme2)
    old_prefix, new_prefix = f"sites/{acme.schema_name}/", f"sites/{acme2.schema_name}/"
    with tenant_context(acme2):
        assert Ticket.objects.count() == 2
        assert Attachment.objects.filter(file__startswith=new_prefix).count() == 3

    # The site's public rows, and the indexes rebuilt for the new site.
    assert public_rows(Membership, acme2, {"client_id"}) == public_rows(Membership, acme, {"client_id"})
    assert public_rows(Invitation, acme2, {"client_id", "token_hash"}) == public_rows(
        Invitation, acme, {"client_id", "token_hash"}
    )
    assert public_rows(TicketIndex, acme2, {"client_id"}) == public_rows(TicketIndex, acme, {"client_id"})
    assert TicketIndex.objects.filter(client=acme2).count() == 2
    assert public_rows(TimeEntryIndex, acme2, {"client_id"}) == public_rows(TimeEntryIndex, acme, {"client_id"})

    # Every file, byte for byte.
    with tenant_context(acme):
        originals = list(Attachment.objects.values_list("file", flat=True))
    assert len(originals) == 3
    for name in originals:
        with default_storage.open(name) as a, default_storage.open(new_prefix + name[len(old_prefix) :]) as b:
            assert a.read() == b.read()

    # And the restored site works: the requester reads the ticket and downloads the attachment.
    client = http(f"acme2.{ROOT}", users["acme_staff"])
    page = client.get("/tickets/1/")
    assert page.status_code == 200 and "Printer on fire" in page.content.decode()
    with tenant_context(acme2):
        log = Attachment.objects.get(original_name="log.txt")
    download = client.get(f"/tickets/1/attachments/{log.pk}/")
    assert b"".join(download.streaming_content) == b"line 1\nline 2\x01\n"
    # New rows get fresh ids after the restored ones (sequences moved).
    with tenant_context(acme2):
        ticket = services.ticket_create(requester=users["acme_staff"], subject="After restore", description="x")
        assert ticket.number == 3 and ticket.pk > 2


def test_people_unknown_here_become_inactive_accounts_and_ids_are_mapped(acme, users, tmp_path, stored_files):
    stored_files.append(f"sites/{acme.schema_name}/")
    fill_acme(acme, users)
    archive = tmp_path / "acme.zip"
    site_export(client=acme, out=archive)
    # As if restored on another installation: the colleague's account does not exist there.
    colleague = users["acme_staff"].__class__.objects.get(email="colleague@acme.example")
    old_id = colleague.pk
    colleague.email = "renamed@elsewhere.example"
    colleague.save(update_fields=["email"])

    report = site_restore(path=archive, subdomain="acme-copy")
    stored_files.append(f"sites/{report.client.schema_name}/")
    assert report.users_created == ["colleague@acme.example"]
    new = colleague.__class__.objects.get(email="colleague@acme.example")
    assert not new.is_active and not new.has_usable_password()
    with tenant_context(report.client):
        ticket = Ticket.objects.get(subject__startswith="Second")
        assert ticket.requester_id == new.pk != old_id
        shared = ticket.__class__.objects.get(subject="Printer on fire").events.get(kind="shared")
        assert shared.after == {"with": new.pk}
    assert Membership.objects.get(client=report.client, user=new).role == "staff"


def test_an_archive_from_before_a_migration_is_restored_then_migrated_forward(acme, users, tmp_path, stored_files):
    from django.db.migrations.executor import MigrationExecutor

    stored_files.append(f"sites/{acme.schema_name}/")
    fill_acme(acme, users)
    # Take acme back, for real, to before the tickets app's latest migration, and export it then.
    connection.set_tenant(acme)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # PostgreSQL alters no table with checks pending
    executor = MigrationExecutor(connection)
    latest = max(n for n in executor.loader.graph.leaf_nodes() if n[0] == "tickets")
    previous = executor.loader.graph.node_map[latest].parents
    (parent,) = [p.key for p in previous if p.key[0] == "tickets"]
    executor.migrate([parent])
    connection.set_schema_to_public()
    archive = tmp_path / "old.zip"
    manifest = site_export(client=acme, out=archive)
    assert latest[1] not in manifest["migrations"]["tickets"]

    report = site_restore(path=archive, subdomain="acme-old")
    stored_files.append(f"sites/{report.client.schema_name}/")
    with connection.cursor() as cursor:
        applied = "SELECT app, name FROM {}.django_migrations ORDER BY app, name"
        cursor.execute(applied.format(quote_ident(report.client.schema_name)))
        restored = cursor.fetchall()
        cursor.execute(applied.format("tenant_template"))
        assert restored == cursor.fetchall()  # as current as a new site
    # Same data as the original (whose schema lacks only what the migration added).
    connection.set_tenant(acme)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    connection.set_schema_to_public()
    assert_same_tables(acme, report.client)
    with tenant_context(report.client):
        assert Ticket.objects.count() == 2 and Attachment.objects.count() == 3


# --- refused archives ----------------------------------------------------------------------


def rewrite(source: Path, target: Path, change) -> None:
    """Copy a zip, passing each member through change(name, data) -> data."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info.filename)))


def manifest_change(update):
    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        update(manifest)
        return json.dumps(manifest).encode()

    return change


def assert_nothing_left(subdomain: str) -> None:
    assert not Client.objects.filter(subdomain=subdomain).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE %s", [f"s_{subdomain}_%"])
        assert cursor.fetchone()[0] == 0
    folders = default_storage.listdir("sites")[0] if default_storage.exists("sites") else []
    assert not [f for f in folders if f.startswith(f"s_{subdomain}_")]


@pytest.fixture
def good_archive(acme, users, tmp_path, stored_files) -> Path:
    stored_files.append(f"sites/{acme.schema_name}/")
    fill_acme(acme, users)
    path = tmp_path / "good.zip"
    site_export(client=acme, out=path)
    return path


def _truncated(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes()[: source.stat().st_size // 2])


def _flipped(source: Path, target: Path) -> None:
    def change(name, data):
        return data.replace(b"Printer on fire", b"Printer on ice!") if name == "tables/tickets_ticket.csv" else data

    rewrite(source, target, change)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncated, "This is not a complete site archive (damaged or truncated zip"),
        (_flipped, "The archive is damaged: tables/tickets_ticket.csv does not match its checksum."),
        (
            lambda s, t: rewrite(s, t, manifest_change(lambda m: m.update(format_version=2))),
            "The archive uses export format version 2; this TenantDesk reads version 1.",
        ),
        (
            lambda s, t: rewrite(s, t, manifest_change(lambda m: m["migrations"]["tickets"].append("9999_future"))),
            "The archive was made by a newer TenantDesk (migrations unknown here: tickets.9999_future).",
        ),
        (
            lambda s, t: rewrite(s, t, lambda name, data: b"" if name == "manifest.json" else data),
            "The archive's manifest.json is not valid JSON.",
        ),
        (lambda s, t: t.write_bytes(b"PK\x03\x04 not really"), "This is not a complete site archive"),
    ],
    ids=["truncated", "corrupt", "format-version", "newer-migrations", "manifest", "junk"],
)
def test_bad_archive_is_refused_with_a_clear_message_and_leaves_nothing(good_archive, tmp_path, damage, message):
    bad = tmp_path / "bad.zip"
    damage(good_archive, bad)
    with pytest.raises(ArchiveError) as refused:
        site_restore(path=bad, subdomain="acme3")
    assert message in str(refused.value)
    assert_nothing_left("acme3")


def test_data_that_does_not_load_rolls_everything_back(good_archive, tmp_path):
    """Checksums fine, but a value PostgreSQL rejects: no row, schema or file stays."""
    import hashlib

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good_archive) as old:
        manifest = json.loads(old.read("manifest.json"))
        members = {i.filename: old.read(i.filename) for i in old.infolist()}
    broken = members["tables/tickets_ticket.csv"] + b"not,a,ticket\n"
    members["tables/tickets_ticket.csv"] = broken
    for entry in manifest["tables"]:
        if entry["name"] == "tickets_ticket":
            entry["sha256"] = hashlib.sha256(broken).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(bad, "w") as new:
        for name, data in members.items():
            new.writestr(name, data)
    with pytest.raises(Exception):  # noqa: B017, PT011 - PostgreSQL's own error for the bad value
        site_restore(path=bad, subdomain="acme3")
    assert_nothing_left("acme3")


def test_a_taken_subdomain_is_refused(good_archive):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="'globex' is already taken."):
        site_restore(path=good_archive, subdomain="globex")


def test_export_site_and_import_site_commands(tmp_path):
    """The commands, as real processes on the committed sites: export acme, restore it, refuse
    a second restore onto the same subdomain and a truncated file with exit status 1."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    from shared_apps.tenancy.services import site_delete
    from tests.processes import committed, database_url

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "TESTING": "1"}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
        )

    archive = tmp_path / "acme.zip"
    exported = manage("export_site", "--subdomain", "acme", "--out", str(archive))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(f"Exported Acme Corp (acme) to {archive}:")
    try:
        imported = manage("import_site", "--file", str(archive), "--subdomain", "acme-cli", "--name", "Acme Again")
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.strip().splitlines()[-1] == f"http://acme-cli.{ROOT}/"
        again = manage("import_site", "--file", str(archive), "--subdomain", "acme-cli")
        assert again.returncode == 1 and "'acme-cli' is already taken." in again.stderr
        (tmp_path / "half.zip").write_bytes(archive.read_bytes()[:100])
        broken = manage("import_site", "--file", str(tmp_path / "half.zip"), "--subdomain", "acme-half")
        assert broken.returncode == 1 and "not a complete site archive" in broken.stderr
        missing = manage("export_site", "--subdomain", "nope", "--out", str(tmp_path / "x.zip"))
        assert missing.returncode == 1 and "No site with subdomain 'nope'." in missing.stderr
    finally:

        def drop():
            site = Client.objects.filter(subdomain="acme-cli").first()
            if site:
                for name in _walk(f"sites/{site.schema_name}/"):
                    default_storage.delete(name)
                site_delete(client=site, by=None, confirmation="acme-cli")

        committed(drop)
    assert committed(lambda: Client.objects.filter(subdomain__in=["acme-cli", "acme-half"]).count()) == 0
