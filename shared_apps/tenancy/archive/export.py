"""Write one site, everything it owns, into one zip archive (format: docs/export-format.md).

Tenant tables go out with PostgreSQL `COPY ... TO STDOUT (FORMAT csv, HEADER)`, streamed straight
into the zip member, so the values are PostgreSQL's own text forms (exact for every type) and the
memory use does not depend on the site's size. Everything is read in one REPEATABLE READ, READ
ONLY transaction, so all tables come from the same snapshot even while the site is in use.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import zipfile
from datetime import UTC, datetime, time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from shared_apps.tenancy.archive import catalog
from shared_apps.tenancy.models import Client
from shared_apps.tenancy.schema_names import quote_ident

FORMAT = "tenantdesk-site-export"
FORMAT_VERSION = 1
CHUNK = 1024 * 1024


def app_version() -> str:
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def site_files_prefix(schema: str) -> str:
    return f"sites/{schema}/"


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds; an archive keeps every microsecond."""

    def default(self, o):
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class _HashingWriter:
    def __init__(self, target):
        self.target, self.sha256, self.size = target, hashlib.sha256(), 0

    def write(self, data) -> None:
        data = bytes(data)
        self.target.write(data)
        self.sha256.update(data)
        self.size += len(data)


def site_export(*, client: Client, out: str | Path) -> dict:
    """Write `client`'s archive to `out` (a path); return its manifest."""
    out = Path(out)
    if connection.in_atomic_block:
        # Inside a caller's transaction (tests, a task that already opened one): its snapshot.
        return _export(client, out)
    with transaction.atomic():
        # The raw driver connection, so this is the transaction's first statement (django-tenants
        # would otherwise send its SET search_path first).
        connection.ensure_connection()
        connection.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _export(client, out)


def _export(client: Client, out: Path) -> dict:
    schema = client.schema_name
    manifest: dict = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "app_version": app_version(),
    }
    user_ids: set[int] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        with connection.cursor() as cursor:
            manifest["migrations"] = _migration_state(cursor, schema)
            manifest["site"] = _site_fields(client)
            tables = catalog.tenant_tables(cursor, schema)
            manifest["tables"] = [_export_table(cursor, archive, schema, table) for table in tables]
            user_ids |= _tenant_user_ids(cursor, schema, tables)
            stored_names = _tenant_file_names(cursor, schema, tables)
        manifest["public"], public_users = _export_public(archive, client)
        user_ids |= public_users
        manifest["users"] = _write_json(archive, "users.json", _users(user_ids))
        manifest["files"], manifest["warnings"] = _export_files(archive, schema, stored_names)
        manifest["rebuilt"] = sorted(catalog.REBUILT_PUBLIC)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, cls=ExactJSONEncoder))
    return manifest


def _migration_state(cursor, schema: str) -> dict[str, list[str]]:
    cursor.execute(f"SELECT app, name FROM {quote_ident(schema)}.django_migrations ORDER BY app, name")  # noqa: S608
    state: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        state.setdefault(app, []).append(name)
    return state


def _site_fields(client: Client) -> dict:
    fields = {}
    for field in Client._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(client, field.attname)
        if field.is_relation:
            fields[field.name] = _reference(field.related_model, value)
        else:
            fields[field.attname] = value
    fields["domains"] = list(client.domains.order_by("domain").values_list("domain", flat=True))
    return json.loads(json.dumps(fields, cls=ExactJSONEncoder))


def _export_table(cursor, archive: zipfile.ZipFile, schema: str, table: catalog.Table) -> dict:
    name = f"tables/{table.name}.csv"
    columns = ", ".join(quote_ident(c) for c in table.columns)
    cursor.execute(f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table.name)}")  # noqa: S608
    rows = cursor.fetchone()[0]
    with archive.open(name, "w", force_zip64=True) as member:
        writer = _HashingWriter(member)
        sql = (
            f"COPY {quote_ident(schema)}.{quote_ident(table.name)} ({columns}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        )
        with cursor.copy(sql) as copy:
            for data in copy:
                writer.write(data)
    return {
        "name": table.name,
        "file": name,
        "columns": list(table.columns),
        "rows": rows,
        "sha256": writer.sha256.hexdigest(),
    }


def _tenant_user_ids(cursor, schema: str, tables: list[catalog.Table]) -> set[int]:
    # Only columns the schema has: a site exported before a migration may lack some tables.
    present = {(table.name, column) for table in tables for column in table.columns}
    parts = [
        f"SELECT {quote_ident(column)}::bigint FROM {quote_ident(schema)}.{quote_ident(table)}"  # noqa: S608
        for table, columns in catalog.tenant_user_columns().items()
        for column in columns
        if (table, column) in present
    ]
    parts += [
        f"SELECT ({quote_ident(column)} ->> '{key}')::bigint FROM {quote_ident(schema)}.{quote_ident(table)} "  # noqa: S608
        f"WHERE jsonb_typeof({quote_ident(column)} -> '{key}') = 'number'"
        for (table, column), keys in catalog.JSON_USER_KEYS.items()
        for key in keys
        if (table, column) in present
    ]
    if not parts:
        return set()
    cursor.execute(f"SELECT DISTINCT id FROM ({' UNION '.join(parts)}) AS ids(id) WHERE id IS NOT NULL")  # noqa: S608
    return {row[0] for row in cursor.fetchall()}


def _reference(model, pk) -> dict | None:
    """How to find the row `model(pk)` in another database: by a unique field (a user by email)."""
    if pk is None:
        return None
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    if model is user_model:
        return {"user": pk}
    natural = catalog.natural_field(model)
    if natural is None:
        return {"model": model._meta.label_lower, "pk": pk}
    value = model.objects.filter(pk=pk).values_list(natural.attname, flat=True).first()
    if natural.is_relation and natural.related_model is user_model:
        return {"model": model._meta.label_lower, "field": natural.name, "user": value}
    return {"model": model._meta.label_lower, "field": natural.attname, "value": value}


def _export_public(archive: zipfile.ZipFile, client: Client) -> tuple[list[dict], set[int]]:
    """Rows of the shared tables that belong to the site, as JSON lines, parents first."""
    from django.db.models import Q

    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    exported_ids: dict[type, list] = {Client: [client.pk]}
    entries, user_ids = [], set()
    for model in catalog.public_site_models():
        label = model._meta.label_lower
        ids_of = {
            f.attname: exported_ids[f.related_model]
            for f in catalog.foreign_keys(model)
            if f.related_model in exported_ids
        }
        if label in catalog.REBUILT_PUBLIC:
            exported_ids[model] = []
            continue
        condition = Q()
        for attname, ids in ids_of.items():
            condition |= Q(**{f"{attname}__in": ids})
        queryset = model.objects.filter(condition).order_by("pk")
        rows = []
        for row in queryset.values(*[f.attname for f in model._meta.concrete_fields]):
            for field in catalog.foreign_keys(model):
                value = row[field.attname]
                if field.related_model is user_model:
                    if value is not None:
                        user_ids.add(value)
                elif field.related_model not in exported_ids:
                    reference = row[field.attname] = _reference(field.related_model, value)
                    if reference and reference.get("user"):
                        user_ids.add(reference["user"])
            rows.append(row)
        exported_ids[model] = [row[model._meta.pk.attname] for row in rows]
        body = "".join(json.dumps(row, cls=ExactJSONEncoder) + "\n" for row in rows)
        entry = _write_bytes(archive, f"public/{label}.jsonl", body.encode())
        entries.append({"model": label, **entry, "rows": len(rows)})
    return entries, user_ids


def _users(user_ids: set[int]) -> list[dict]:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    return list(
        user_model.objects.filter(pk__in=user_ids).order_by("pk").values("id", "email", "full_name", "is_active")
    )


def _write_json(archive: zipfile.ZipFile, name: str, value) -> dict:
    return _write_bytes(archive, name, json.dumps(value, indent=1, cls=ExactJSONEncoder).encode())


def _write_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> dict:
    archive.writestr(name, data)
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest()}


def _tenant_file_names(cursor, schema: str, tables: list[catalog.Table]) -> list[str]:
    """Every stored file name the site's rows refer to (FileFields of the tenant apps' models)."""
    present = {(table.name, column) for table in tables for column in table.columns}
    parts = [
        f"SELECT {quote_ident(column)}::text FROM {quote_ident(schema)}.{quote_ident(table)}"  # noqa: S608
        for table, columns in catalog.tenant_file_columns().items()
        for column in columns
        if (table, column) in present
    ]
    if not parts:
        return []
    cursor.execute(f"SELECT DISTINCT name FROM ({' UNION '.join(parts)}) AS f(name) WHERE name <> '' ORDER BY 1")  # noqa: S608
    return [row[0] for row in cursor.fetchall()]


def _export_files(archive: zipfile.ZipFile, schema: str, names: list[str]) -> tuple[list[dict], list[str]]:
    """The files the rows refer to, by their path below the site's folder. Files in the folder that
    no row refers to (left by a failed upload, say) are not exported."""
    prefix = site_files_prefix(schema)
    entries, warnings = [], []
    for stored in names:
        if not stored.startswith(prefix):
            warnings.append(f"{stored}: outside the site's folder {prefix}, not exported")
            continue
        if not default_storage.exists(stored):
            warnings.append(f"{stored}: referenced but missing from storage")
            continue
        relative = stored[len(prefix) :]
        with (
            default_storage.open(stored, "rb") as source,
            archive.open(f"files/{relative}", "w", force_zip64=True) as member,
        ):
            writer = _HashingWriter(member)
            while chunk := source.read(CHUNK):
                writer.write(chunk)
        entries.append({"path": relative, "size": writer.size, "sha256": writer.sha256.hexdigest()})
    return entries, warnings
