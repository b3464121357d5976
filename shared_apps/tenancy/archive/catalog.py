"""What belongs to a site, found from the database catalog and the installed models (never a
hand-kept list of tables, so tables added by later apps and migrations are exported too).

- Tenant data: every table of the site's schema (pg_class), except `django_migrations`, whose
  content is the manifest's migration state. Which columns hold user ids and which hold stored
  file names is read from the tenant apps' models (foreign keys to the user model, FileFields).
- Public data: every model of the shared apps with a foreign key to `Client`, then, repeatedly,
  every model with a foreign key to one of those (so an invoice's lines follow the invoice).
  `Domain` is not copied (the restored site gets its own subdomain) and the cross-site indexes
  are rebuilt from the restored schema instead of copied (REBUILT_PUBLIC).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models

from shared_apps.tenancy.schema_names import quote_ident

SKIPPED_TENANT_TABLES = frozenset({"django_migrations"})
SKIPPED_PUBLIC = frozenset({"tenancy.domain"})
# Derived from the tenant schema: rebuilt by `ticket_index_rebuild` after a restore.
REBUILT_PUBLIC = frozenset({"engineers.ticketindex", "engineers.timeentryindex"})
# User ids kept inside JSON audit payloads (the only place a user id is not a foreign key).
JSON_USER_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("tickets_ticketevent", "before"): ("assignee", "with"),
    ("tickets_ticketevent", "after"): ("assignee", "with"),
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # in table order, without generated columns (COPY cannot write them)


def tenant_tables(cursor, schema: str) -> list[Table]:
    cursor.execute(
        """
        SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')
        GROUP BY c.relname
        ORDER BY c.relname
        """,
        [quote_ident(schema)],
    )
    return [Table(name, tuple(columns)) for name, columns in cursor.fetchall() if name not in SKIPPED_TENANT_TABLES]


def _tenant_models() -> list[type[models.Model]]:
    labels = {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}
    return [m for m in apps.get_models(include_auto_created=True) if m._meta.app_label in labels]


def tenant_user_columns() -> dict[str, list[str]]:
    """{table: [columns holding a user id]} of the tenant apps' models."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found: dict[str, list[str]] = {}
    for model in _tenant_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is user_model:
                found.setdefault(model._meta.db_table, []).append(field.column)
    return found


def tenant_file_columns() -> dict[str, list[str]]:
    """{table: [columns holding a stored file name]} of the tenant apps' models."""
    found: dict[str, list[str]] = {}
    for model in _tenant_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                found.setdefault(model._meta.db_table, []).append(field.column)
    return found


def public_site_models() -> list[type[models.Model]]:
    """Shared-app models whose rows belong to one site, parents before children."""
    from shared_apps.tenancy.models import Client

    shared = {config.label for config in apps.get_app_configs() if config.name in settings.SHARED_APPS}
    candidates = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in shared and m is not Client and m._meta.label_lower not in SKIPPED_PUBLIC
    ]
    owned: list[type[models.Model]] = []
    roots: set[type[models.Model]] = {Client}
    while True:
        added = [m for m in candidates if m not in owned and any(f.related_model in roots for f in foreign_keys(m))]
        if not added:
            return owned
        owned += added
        roots.update(added)


def foreign_keys(model: type[models.Model]) -> list[models.ForeignKey]:
    """The foreign keys (many-to-one, one-to-one) of `model`."""
    return [
        f
        for f in model._meta.concrete_fields
        if f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model is not None
    ]


def natural_field(model: type[models.Model]) -> models.Field | None:
    """A unique field other than the primary key, to find the same row in another database."""
    for field in model._meta.concrete_fields:
        if field.unique and not field.primary_key:
            return field
    return None
