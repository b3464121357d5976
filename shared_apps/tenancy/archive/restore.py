"""Restore a site archive (docs/export-format.md) as a new site, all or nothing.

1. Check the archive before touching anything: a readable zip, a manifest of a format version we
   read, a migration state we have (an archive from a newer TenantDesk is refused), and every
   member present with the size and SHA-256 the manifest gives (the whole archive is read once).
2. In one transaction: the site row and domain, the schema cloned from the template
   (`clone_template_schema`, as provisioning does, so its tables are exactly the current ones),
   every table emptied and filled with `COPY ... FROM STDIN` from the archive (ids kept),
   sequences moved past the restored ids, user ids mapped to this database's users (by email;
   unknown people become inactive accounts), stored file names moved to the new schema's
   folder, the public rows (memberships, invitations, usage, ...) re-created for the new site,
   the cross-site ticket indexes rebuilt, then every deferred constraint checked.
3. The files are written last; if anything fails they are deleted again and the transaction is
   rolled back, so a failed restore leaves no row, schema or file behind.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from shared_apps.tenancy.archive import catalog
from shared_apps.tenancy.archive.export import CHUNK, FORMAT, FORMAT_VERSION, site_files_prefix
from shared_apps.tenancy.models import Client, Domain
from shared_apps.tenancy.schema_clone import clone_template_schema
from shared_apps.tenancy.schema_names import quote_ident, schema_name_for, subdomain_validate

# Pending invitations keep their role and address but not their link: only the hash of the old
# token is in the archive, and two sites must never share one. Re-send them from the team page.
RESET_ON_RESTORE = {"tenancy.invitation": {"token_hash": lambda: hashlib.sha256(secrets.token_bytes(32)).hexdigest()}}


class ArchiveError(Exception):
    """The archive cannot be restored; the message says why, for the person who ran it."""


@dataclass
class RestoreReport:
    client: Client
    tables: int = 0
    rows: int = 0
    files: int = 0
    users_mapped: int = 0
    users_created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def archive_check(path: str | Path) -> dict:
    """The manifest of a complete, intact archive of a version we can restore; else ArchiveError."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(archive)
            _check_migrations(manifest)
            _check_members(archive, manifest)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise ArchiveError(f"This is not a complete site archive (damaged or truncated zip: {error}).") from None
    except OSError as error:
        raise ArchiveError(f"Cannot read the archive: {error}") from None
    return manifest


def _read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError:
        raise ArchiveError("This is not a TenantDesk site archive: it has no manifest.json.") from None
    except ValueError:
        raise ArchiveError("The archive's manifest.json is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("This is not a TenantDesk site archive (unknown format in manifest.json).")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveError(
            f"The archive uses export format version {version}; this TenantDesk reads version {FORMAT_VERSION}."
        )
    return manifest


def _known_migrations() -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    return set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def _template_migrations() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote_ident(settings.TENANT_BASE_SCHEMA)}.django_migrations")  # noqa: S608
        return set(cursor.fetchall())


def archive_migrations(manifest: dict) -> set[tuple[str, str]]:
    return {(app, name) for app, names in manifest.get("migrations", {}).items() for name in names}


def _check_migrations(manifest: dict) -> None:
    unknown = sorted(archive_migrations(manifest) - _known_migrations())
    if unknown:
        shown = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        raise ArchiveError(
            f"The archive was made by a newer TenantDesk (migrations unknown here: {shown}"
            f"{', ...' if len(unknown) > 5 else ''}). Upgrade this installation first."
        )


def _check_members(archive: zipfile.ZipFile, manifest: dict) -> None:
    expected = [(entry["file"], entry["sha256"]) for entry in manifest["tables"] + manifest["public"]]
    expected.append((manifest["users"]["file"], manifest["users"]["sha256"]))
    expected += [(f"files/{entry['path']}", entry["sha256"]) for entry in manifest["files"]]
    names = set(archive.namelist())
    for name, sha256 in expected:
        if name not in names:
            raise ArchiveError(f"The archive is incomplete: {name} is missing.")
        digest = hashlib.sha256()
        with archive.open(name) as member:  # zipfile also checks each member's CRC
            while chunk := member.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise ArchiveError(f"The archive is damaged: {name} does not match its checksum.")


def site_restore(*, path: str | Path, subdomain: str, name: str | None = None) -> RestoreReport:
    """Restore the archive at `path` as a new site on `subdomain`."""
    from shared_apps.tenancy.provisioning import template_ensure

    subdomain_validate(subdomain)
    if Client.objects.filter(subdomain=subdomain).exists():
        raise ValidationError(f"'{subdomain}' is already taken.")
    template = template_ensure()
    manifest = archive_check(path)
    written: list[str] = []
    try:
        with transaction.atomic(), zipfile.ZipFile(path) as archive:
            report = _restore(archive, manifest, template, subdomain, name, written)
    except IntegrityError as error:
        _delete_files(written)
        raise ArchiveError(f"The archive's data does not fit: {error}") from None
    except BaseException:
        _delete_files(written)
        raise
    finally:
        connection.set_schema_to_public()
    return report


def _delete_files(names: list[str]) -> None:
    for stored in names:
        default_storage.delete(stored)


def _restore(archive, manifest, template: Client, subdomain: str, name, written: list[str]) -> RestoreReport:
    site = manifest["site"]
    client = Client.objects.create(schema_name=schema_name_for(subdomain), subdomain=subdomain, **_site_values(site))
    if name:
        client.name = name
        client.save(update_fields=["name"])
    Domain.objects.create(domain=f"{subdomain}.{settings.ROOT_DOMAIN}", tenant=client, is_primary=True)
    theirs = archive_migrations(manifest)
    older = theirs != _template_migrations()
    if older:
        # Made before some of our migrations: build the schema as it was then, load the data into
        # it, then migrate it forward (data migrations included), as if it had been here all along.
        _schema_at_state(client, theirs)
    else:
        clone_template_schema(template=template.schema_name, schema=client.schema_name)
    report = RestoreReport(client=client)
    schema = quote_ident(client.schema_name)
    user_map = _map_users(json.loads(archive.read(manifest["users"]["file"])), report)

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        tables = {t.name: t for t in catalog.tenant_tables(cursor, client.schema_name)}
        archived = {entry["name"] for entry in manifest["tables"]}
        if archived - tables.keys():
            raise ArchiveError(
                f"The archive has tables this version lacks: {', '.join(sorted(archived - tables.keys()))}"
            )
        cursor.execute("TRUNCATE " + ", ".join(f"{schema}.{quote_ident(t)}" for t in tables))
        for entry in manifest["tables"]:
            unknown = set(entry["columns"]) - set(tables[entry["name"]].columns)
            if unknown:
                raise ArchiveError(
                    f"Table {entry['name']} has columns this version lacks: {', '.join(sorted(unknown))}"
                )
            columns = ", ".join(quote_ident(c) for c in entry["columns"])
            sql = f"COPY {schema}.{quote_ident(entry['name'])} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
            with archive.open(entry["file"]) as member, cursor.copy(sql) as copy:
                while chunk := member.read(CHUNK):
                    copy.write(chunk)
            report.tables += 1
            report.rows += entry["rows"]
        _sequences_reset(cursor, client.schema_name)
        if older:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # PostgreSQL alters no table with checks pending
    if older:
        _migrate_forward(client)
    with connection.cursor() as cursor:
        _user_ids_rewrite(cursor, client.schema_name, user_map)
        _file_names_rewrite(cursor, client.schema_name, manifest["site"]["schema_name"])
    connection.search_path_set_schemas = None

    _restore_public(archive, manifest, client, user_map, report)
    from shared_apps.engineers.ticket_index import ticket_index_rebuild

    ticket_index_rebuild(client=client)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check every deferred key now, not at commit
    prefix = site_files_prefix(client.schema_name)
    for entry in manifest["files"]:
        target = prefix + entry["path"]
        with archive.open(f"files/{entry['path']}") as member:
            saved = default_storage.save(target, File(member))
        written.append(saved)
        if saved != target:
            raise ArchiveError(f"Could not store {target} under its own name (stored as {saved}).")
        report.files += 1
    return report


def _schema_at_state(client: Client, applied: set[tuple[str, str]]) -> None:
    """Create the site's schema by running our migrations up to exactly `applied`."""
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.recorder import MigrationRecorder

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote_ident(client.schema_name)}")
    # django_migrations must be created in the new schema, not found in public (as django-tenants'
    # own runner does it).
    connection.set_schema(client.schema_name, include_public=False)
    MigrationRecorder(connection).ensure_schema()
    connection.set_schema(client.schema_name)
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    targets = []
    for app in {app for app, _ in graph.leaf_nodes()}:
        nodes = [node for node in applied if node[0] == app]
        # The latest of the app's applied migrations: the one with the longest history.
        targets.append(max(nodes, key=lambda node: len(graph.forwards_plan(node))) if nodes else (app, None))
    executor.migrate(targets)
    if {tuple(row) for row in MigrationRecorder(connection).applied_migrations()} != applied:
        raise ArchiveError("Could not rebuild the archive's migration state (it does not match our migrations).")
    connection.set_schema_to_public()


def _migrate_forward(client: Client) -> None:
    """Apply our remaining migrations to the restored schema; then post_migrate, as `migrate`
    does, adds the content types and permissions of models that are new since the export."""
    from django.apps import apps as global_apps
    from django.core.management.sql import emit_post_migrate_signal
    from django.db.migrations.executor import MigrationExecutor

    connection.set_schema(client.schema_name)
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    state = executor.migrate(targets, plan=plan)
    emit_post_migrate_signal(0, False, connection.alias, apps=state.apps if state else global_apps, plan=plan)
    connection.set_schema_to_public()


def _site_values(site: dict) -> dict:
    values = {}
    for model_field in Client._meta.concrete_fields:
        if model_field.primary_key or model_field.attname in ("schema_name", "subdomain"):
            continue
        if model_field.is_relation:
            if model_field.name in site:
                values[model_field.attname] = _resolve(site[model_field.name], None)
        elif model_field.attname in site:
            values[model_field.attname] = model_field.to_python(site[model_field.attname])
    return values


def _map_users(users: list[dict], report: RestoreReport) -> dict[int, int]:
    """{archive user id: this database's user id}: the account with the same email, or a new
    inactive one (no password) that a platform admin can activate."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found = {
        email.lower(): pk
        for pk, email in user_model.objects.filter(
            email__in=[u["email"] for u in users] + [u["email"].lower() for u in users]
        ).values_list("pk", "email")
    }
    mapping = {}
    for user in users:
        pk = found.get(user["email"].lower())
        if pk is None:
            new = user_model.objects.create_user(
                email=user["email"], password=None, full_name=user.get("full_name", "")
            )
            new.is_active = False
            new.save(update_fields=["is_active"])
            pk = new.pk
            report.users_created.append(user["email"])
        mapping[user["id"]] = pk
    report.users_mapped = len(mapping)
    return mapping


def _sequences_reset(cursor, schema: str) -> None:
    cursor.execute(
        """
        SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND pg_get_serial_sequence(format('%%I.%%I', c.relnamespace::regnamespace, c.relname), a.attname) IS NOT NULL
        """,
        [quote_ident(schema)],
    )
    for table, column in cursor.fetchall():
        qualified = f"{quote_ident(schema)}.{quote_ident(table)}"
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce((SELECT max({quote_ident(column)}) "  # noqa: S608
            f"FROM {qualified}), 0) + 1, false)",
            [qualified, column],
        )


def _user_ids_rewrite(cursor, schema: str, user_map: dict[int, int]) -> None:
    changed = {old: new for old, new in user_map.items() if old != new}
    if not changed:
        return
    cursor.execute("CREATE TEMPORARY TABLE restore_user_map (old bigint PRIMARY KEY, new bigint) ON COMMIT DROP")
    cursor.executemany("INSERT INTO restore_user_map VALUES (%s, %s)", list(changed.items()))
    for table, columns in catalog.tenant_user_columns().items():
        for column in columns:
            # One UPDATE per column reads each row's old value once, so 5 -> 7 and 7 -> 9 cannot chain.
            cursor.execute(
                f"UPDATE {quote_ident(schema)}.{quote_ident(table)} t SET {quote_ident(column)} = m.new "  # noqa: S608
                f"FROM restore_user_map m WHERE t.{quote_ident(column)} = m.old"
            )
    for (table, column), keys in catalog.JSON_USER_KEYS.items():
        for key in keys:
            cursor.execute(
                f"UPDATE {quote_ident(schema)}.{quote_ident(table)} t "  # noqa: S608
                f"SET {quote_ident(column)} = jsonb_set(t.{quote_ident(column)}, %s, to_jsonb(m.new)) "
                f"FROM restore_user_map m WHERE jsonb_typeof(t.{quote_ident(column)} -> %s) = 'number' "
                f"AND (t.{quote_ident(column)} ->> %s)::bigint = m.old",
                [[key], key, key],
            )
    cursor.execute("DROP TABLE restore_user_map")


def _file_names_rewrite(cursor, schema: str, old_schema: str) -> None:
    old, new = site_files_prefix(old_schema), site_files_prefix(schema)
    for table, columns in catalog.tenant_file_columns().items():
        for column in columns:
            cursor.execute(
                f"UPDATE {quote_ident(schema)}.{quote_ident(table)} SET {quote_ident(column)} = "  # noqa: S608
                f"%s || substr({quote_ident(column)}, %s) WHERE starts_with({quote_ident(column)}, %s)",
                [new, len(old) + 1, old],
            )


def _resolve(reference: dict | None, user_map: dict[int, int] | None):
    """This database's id for an exported reference (see export._reference), or None."""
    if reference is None:
        return None
    if set(reference) == {"user"}:
        return (user_map or {}).get(reference["user"])
    model = apps.get_model(reference["model"])
    if "pk" in reference:
        return model.objects.filter(pk=reference["pk"]).values_list("pk", flat=True).first()
    if "user" in reference:
        value = (user_map or {}).get(reference["user"])
        return model.objects.filter(**{f"{reference['field']}_id": value}).values_list("pk", flat=True).first()
    return model.objects.filter(**{reference["field"]: reference["value"]}).values_list("pk", flat=True).first()


def _restore_public(archive, manifest, client: Client, user_map: dict[int, int], report: RestoreReport) -> None:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    models_by_label = {m._meta.label_lower: m for m in catalog.public_site_models()}
    new_ids: dict[type, dict] = {}
    for entry in manifest["public"]:
        model = models_by_label.get(entry["model"])
        if model is None:
            report.warnings.append(
                f"{entry['model']}: not a per-site table in this version; {entry['rows']} rows skipped"
            )
            continue
        resets = RESET_ON_RESTORE.get(entry["model"], {})
        old_ids, rows, skipped = [], [], 0
        for line in archive.read(entry["file"]).decode().splitlines():
            data = json.loads(line)
            values, keep = {}, True
            for model_field in model._meta.concrete_fields:
                if model_field.primary_key or model_field.attname not in data:
                    continue
                value = data[model_field.attname]
                if model_field.is_relation and value is not None:
                    target = model_field.related_model
                    if target is Client:
                        value = client.pk
                    elif target is user_model:
                        value = user_map.get(value)
                    elif target in new_ids:
                        value = new_ids[target].get(value)
                    else:
                        value = _resolve(value, user_map)
                    if value is None and not model_field.null:
                        keep = False
                else:
                    value = model_field.to_python(value) if value is not None else None
                values[model_field.attname] = value
            if not keep:
                skipped += 1
                continue
            for attname, make in resets.items():
                values[attname] = make()
            old_ids.append(data[model._meta.pk.attname])
            rows.append(model(**values))
        created = model.objects.bulk_create(rows)
        new_ids[model] = {old: row.pk for old, row in zip(old_ids, created, strict=True)}
        if skipped:
            report.warnings.append(f"{entry['model']}: {skipped} rows skipped (what they refer to does not exist here)")
