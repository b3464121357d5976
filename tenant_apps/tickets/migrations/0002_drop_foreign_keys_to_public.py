"""Drop database constraints from tenant tables to public tables (django-guardian's
`guardian_userobjectpermission.user_id` -> `accounts_user`).

Each such constraint adds two triggers on the public table in every schema (DESIGN section 3):
thousands of triggers on the user table at a few hundred sites, fired on every user update and
taken as a lock on it while a site is provisioned. Our own models declare `db_constraint=False`;
guardian's model cannot, so its constraint goes here. Django's model state is unchanged (the
ORM still treats it as a foreign key); users are deactivated, never deleted, so ids stay valid.
"""

from django.db import migrations

DROP_FOREIGN_KEYS_TO_PUBLIC = """
DO $$
DECLARE fk record;
BEGIN
    FOR fk IN
        SELECT c.conname, t.relname
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_class r ON r.oid = c.confrelid
        WHERE c.contype = 'f'
          AND t.relnamespace = current_schema()::regnamespace
          AND r.relnamespace <> current_schema()::regnamespace
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', fk.relname, fk.conname);
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
    ]

    operations = [migrations.RunSQL(DROP_FOREIGN_KEYS_TO_PUBLIC, reverse_sql=migrations.RunSQL.noop)]
