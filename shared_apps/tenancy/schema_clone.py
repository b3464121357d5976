"""Build a new site's schema from the migrated template schema in one round trip.

django-tenants' `clone_schema` asks the catalogs about the whole database on every call and
re-creates its PL/pgSQL function each time, so it slows down as sites are added (notes section 6).
Here the template is read once per migration state: its tables, columns, constraints and indexes
become one DDL script with the schema name left as a parameter, kept in memory and keyed by a
fingerprint of the template's `django_migrations`. Creating a site then runs that script plus
copies of the template's rows (migration history, content types, permissions), so its cost does
not depend on how many other sites exist.

The template must contain only what this module knows how to copy (tables, identity columns,
defaults, constraints, indexes); anything else (views, triggers, functions, free sequences)
stops provisioning with a clear error instead of producing an incomplete copy.
"""

from dataclasses import dataclass

from django.db import connection

from shared_apps.tenancy.schema_names import quote_ident


class TemplateNotCloneable(Exception):
    pass


@dataclass(frozen=True)
class SchemaScript:
    fingerprint: str
    tables_ddl: str  # CREATE TABLE statements, run with search_path set to the new schema
    constraints_ddl: str  # keys, checks, indexes, then foreign keys (after the rows are copied)
    copied_tables: tuple[str, ...]  # tables whose template rows are copied
    identity_columns: tuple[tuple[str, str], ...]  # (table, column) of copied tables to re-sync


_scripts: dict[tuple[str, str], SchemaScript] = {}


def template_fingerprint(cursor, template: str) -> str:
    cursor.execute(
        f"SELECT md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY id), '')) "
        f"FROM {quote_ident(template)}.django_migrations"
    )
    return cursor.fetchone()[0]


def schema_script_for(template: str) -> SchemaScript:
    with connection.cursor() as cursor:
        fingerprint = template_fingerprint(cursor, template)
        key = (template, fingerprint)
        if key not in _scripts:
            _scripts.clear()
            _scripts[key] = _read_template(cursor, template, fingerprint)
        return _scripts[key]


def clone_template_schema(*, template: str, schema: str) -> None:
    """Create `schema` as a copy of `template`. Runs inside the caller's transaction."""
    script = schema_script_for(template)
    source = quote_ident(template)
    statements = [
        f"CREATE SCHEMA {quote_ident(schema)}",
        f"SET LOCAL search_path TO {quote_ident(schema)}",
        script.tables_ddl,
    ]
    statements += [
        f"INSERT INTO {quote_ident(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {source}.{quote_ident(table)}"
        for table in script.copied_tables
    ]
    statements.append(script.constraints_ddl)
    statements += [
        f"SELECT setval(pg_get_serial_sequence('{quote_ident(table)}', '{column}'), "
        f"coalesce((SELECT max({quote_ident(column)}) FROM {quote_ident(table)}), 0) + 1, false)"
        for table, column in script.identity_columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements))
    connection.search_path_set_schemas = None  # we moved search_path: django-tenants must set it again


def _read_template(cursor, template: str, fingerprint: str) -> SchemaScript:
    # pg_get_*def() leave names unqualified when they are visible on the search_path, so with only
    # the template on it the definitions can be replayed in any other schema.
    cursor.execute("SELECT current_setting('search_path')")
    saved_path = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('search_path', %s, false)", [quote_ident(template)])
    script = _build_script(cursor, template, fingerprint)  # on error the transaction is rolled back anyway
    cursor.execute("SELECT set_config('search_path', %s, false)", [saved_path])
    connection.search_path_set_schemas = None
    return script


def _build_script(cursor, template: str, fingerprint: str) -> SchemaScript:
    cursor.execute("SELECT %s::regnamespace::oid", [quote_ident(template)])
    namespace = cursor.fetchone()[0]
    _refuse_unsupported_objects(cursor, namespace)

    cursor.execute(
        "SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = %s AND c.relkind = 'r' ORDER BY c.relname",
        [namespace],
    )
    tables = cursor.fetchall()
    table_names = {oid: name for oid, name in tables}

    cursor.execute(
        """
        SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum
        """,
        [list(table_names)],
    )
    columns: dict[int, list[str]] = {oid: [] for oid in table_names}
    identity_columns: list[tuple[str, str]] = []
    for relid, name, type_sql, not_null, default, identity, generated, collation in cursor.fetchall():
        parts = [quote_ident(name), type_sql]
        if collation:
            parts.append(f"COLLATE {quote_ident(collation)}")
        if identity:
            parts.append("GENERATED ALWAYS AS IDENTITY" if identity == "a" else "GENERATED BY DEFAULT AS IDENTITY")
            identity_columns.append((table_names[relid], name))
        elif generated == "s":
            parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if not_null:
            parts.append("NOT NULL")
        columns[relid].append(" ".join(parts))

    tables_ddl = [f"CREATE TABLE {quote_ident(table_names[oid])} ({', '.join(columns[oid])})" for oid in table_names]
    ddl: list[str] = []

    # Primary keys, unique, check and exclusion constraints first; foreign keys last, once every
    # table and the unique indexes they point at exist. NOT NULL is already on the columns.
    cursor.execute(
        """
        SELECT conrelid, conname, pg_get_constraintdef(oid), contype = 'f'
        FROM pg_constraint
        WHERE connamespace = %s AND conrelid <> 0 AND contype IN ('p', 'u', 'c', 'x', 'f')
        ORDER BY contype = 'f', conrelid, conname
        """,
        [namespace],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = %s AND NOT EXISTS (
            SELECT 1 FROM pg_constraint k
            WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
        ORDER BY c.relname
        """,
        [namespace],
    )
    # pg_get_indexdef() always qualifies the table (unlike pg_get_constraintdef()): drop the prefix.
    qualifiers = (f" ON {template}.", f" ON {quote_ident(template)}.", f" ON ONLY {template}.")
    indexes = []
    for (definition,) in cursor.fetchall():
        for qualifier in qualifiers:
            definition = definition.replace(qualifier, qualifier.split(template)[0].rstrip('"'), 1)
        if template in definition:
            raise TemplateNotCloneable(f"cannot make this index definition schema-neutral: {definition}")
        indexes.append(definition)
    for relid, name, definition, is_foreign_key in constraints:
        if is_foreign_key:
            continue
        ddl.append(f"ALTER TABLE {quote_ident(table_names[relid])} ADD CONSTRAINT {quote_ident(name)} {definition}")
    ddl += indexes
    for relid, name, definition, is_foreign_key in constraints:
        if is_foreign_key:
            ddl.append(f"ALTER TABLE {quote_ident(table_names[relid])} ADD CONSTRAINT {quote_ident(name)} {definition}")

    copied = []
    for _oid, name in tables:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_ident(name)})")
        if cursor.fetchone()[0]:
            copied.append(name)
    copied_set = set(copied)
    return SchemaScript(
        fingerprint=fingerprint,
        tables_ddl=";\n".join(tables_ddl),
        constraints_ddl=";\n".join(ddl),
        copied_tables=tuple(copied),
        identity_columns=tuple((t, c) for t, c in identity_columns if t in copied_set),
    )


def _refuse_unsupported_objects(cursor, namespace: int) -> None:
    cursor.execute(
        """
        SELECT 'relation ' || c.relname || ' (kind ' || c.relkind::text || ')' FROM pg_class c
        WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'i', 'S')
        UNION ALL
        SELECT 'sequence ' || c.relname || ' not owned by an identity column' FROM pg_class c
        WHERE c.relnamespace = %(ns)s AND c.relkind = 'S' AND NOT EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
        UNION ALL
        SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = %(ns)s
        UNION ALL
        SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
        UNION ALL
        SELECT 'type ' || t.typname FROM pg_type t
        WHERE t.typnamespace = %(ns)s AND t.typtype NOT IN ('c') AND t.typelem = 0 AND t.typrelid = 0
        """,
        {"ns": namespace},
    )
    found = [row[0] for row in cursor.fetchall()]
    if found:
        raise TemplateNotCloneable("the template schema holds objects provisioning cannot copy: " + ", ".join(found))
