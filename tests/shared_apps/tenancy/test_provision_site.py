"""Provisioning: the success path, every validation failure, and failures mid-way."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from shared_apps.tenancy.models import Client, Domain, Invitation, Membership
from shared_apps.tenancy.provisioning import ProvisioningError, provision_site
from shared_apps.tenancy.schema_names import subdomain_validate
from tenant_apps.tickets.models import DEFAULT_CATEGORIES, Category, SLAPolicy, TicketCounter
from tests.conftest import http


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _snapshot() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        schemas = cursor.fetchone()[0]
    return schemas, Client.objects.count(), Domain.objects.count(), Invitation.objects.count()


def test_new_site_has_schema_domain_defaults_and_invites_its_admin(world, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        site = provision_site(name="Initech", subdomain="initech", admin_email="Bill@Initech.example")

    assert site.schema_name.startswith("s_initech_") and _schema_exists(site.schema_name)
    assert site.get_primary_domain().domain == "initech.tenantdesk.localhost"
    with schema_context(site.schema_name):
        assert list(Category.objects.values_list("slug", flat=True)) == [slug for slug, _ in DEFAULT_CATEGORIES]
        # Seeded by a migration in the template, copied with it.
        assert set(SLAPolicy.objects.values_list("priority", flat=True)) == {"low", "medium", "high", "urgent"}
        assert TicketCounter.objects.get().last_number == 0
    invitation = Invitation.objects.get(client=site)
    assert (invitation.email, invitation.role) == ("bill@initech.example", Membership.Role.ADMIN)
    [email] = mail.outbox
    assert email.to == ["bill@initech.example"]
    assert "http://initech.tenantdesk.localhost/invite/" in email.body
    # The site answers on its own host at once.
    response = http("initech.tenantdesk.localhost").get("/healthz")
    assert response.json() == {"status": "ok", "schema": site.schema_name}


def test_cloned_schema_matches_the_template_exactly(world, db):
    """Same tables, columns, defaults, constraints and indexes (with the same names) as the
    migrated template, and the template's migration history, content types and permissions."""
    site = provision_site(name="Initech", subdomain="initech", admin_email="bill@initech.example")

    def shape(schema: str) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
                   FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, ordinal_position""",
                [schema],
            )
            columns = cursor.fetchall()
            cursor.execute(
                """SELECT conname, replace(pg_get_constraintdef(c.oid), %s, '') FROM pg_constraint c
                   WHERE connamespace = %s::regnamespace ORDER BY 1""",
                [f"{schema}.", schema],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
                [f"{schema}.", schema],
            )
            indexes = cursor.fetchall()
            cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY id')  # noqa: S608
            migrations = cursor.fetchall()
            cursor.execute(f'SELECT app_label, model FROM "{schema}".django_content_type ORDER BY id')  # noqa: S608
            content_types = cursor.fetchall()
            cursor.execute(f'SELECT codename FROM "{schema}".auth_permission ORDER BY id')  # noqa: S608
            permissions = cursor.fetchall()
        return {
            "columns": columns,
            "constraints": constraints,
            "indexes": indexes,
            "migrations": migrations,
            "content_types": content_types,
            "permissions": permissions,
        }

    template, clone = shape("tenant_template"), shape(site.schema_name)
    for part in template:
        assert clone[part] == template[part], part
    assert ("tickets", "category") in clone["content_types"]
    assert ("view_category",) in clone["permissions"]
    # Identity sequences continue after the copied rows: a new permission gets a fresh id.
    with schema_context(site.schema_name):
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType

        new = Permission.objects.create(
            name="x", codename="x_test", content_type=ContentType.objects.get_for_model(Category)
        )
        assert new.pk > len(template["permissions"])


def test_tenant_tables_have_no_database_constraint_to_public_tables(world, db, acme):
    """Each such constraint would add two triggers on the public table per site (DESIGN 3)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.relname, c.conname FROM pg_constraint c
               JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
               WHERE c.contype = 'f' AND t.relnamespace = ANY(%s::regnamespace[])
                 AND r.relnamespace <> t.relnamespace""",
            [["tenant_template", acme.schema_name]],
        )
        assert cursor.fetchall() == []


HOSTILE = [
    ("ACME2", "lowercase"),
    ("Ünïcode", "letters a-z"),
    ("a;drop", "single hyphens"),
    ("a" * 41, "3 to 40"),
    ("ab", "3 to 40"),
    ("acme", "already taken"),
    ("www", "reserved"),
    ("template", "reserved"),
    ("tenant-template", "reserved"),  # the template site's schema is tenant_template
    ("pg-sales", "Subdomains starting with 'pg-' are reserved"),
    ("pg_sales", "Subdomains starting with 'pg_' are reserved"),
    ("pg-", "Subdomains starting with 'pg-' are reserved"),
    ("-acme", "single hyphens"),
    ("acme-", "single hyphens"),
    ("xn--acme", "single hyphens"),
    ("ac me", "single hyphens"),
    (" acme2", "spaces"),
    ("", "Enter a subdomain"),
    ("acme.corp", "single hyphens"),
    ("a_b_c", "single hyphens"),
]


@pytest.mark.parametrize(("subdomain", "message"), HOSTILE)
def test_bad_subdomains_are_refused_with_a_clear_message_and_create_nothing(world, db, subdomain, message):
    before = _snapshot()
    with pytest.raises(ValidationError) as caught:
        provision_site(name="Evil", subdomain=subdomain, admin_email="x@example.com")
    assert message in " ".join(caught.value.message_dict["subdomain"])
    assert _snapshot() == before


@pytest.mark.parametrize("subdomain", ["pgsales", "upg-sales", "tenant-templates", "my-pg-site"])
def test_near_misses_of_reserved_names_are_fine(subdomain):
    assert subdomain_validate(subdomain) == subdomain


def test_the_first_admin_cannot_be_an_engineer(world, db, users):
    before = _snapshot()
    with pytest.raises(ValidationError) as caught:
        provision_site(name="Initech", subdomain="initech", admin_email=users["engineer_all"].email.upper())
    assert caught.value.message_dict["admin_email"] == [
        f"{users['engineer_all'].email} belongs to one of the IT company's engineers. Engineers are not invited "
        "as staff: they reach Initech through the coverage the IT company sets on its platform, and take no seat."
    ]
    assert _snapshot() == before


def test_missing_name_and_bad_email_are_refused(world, db):
    before = _snapshot()
    with pytest.raises(ValidationError) as caught:
        provision_site(name=" ", subdomain="fine-name", admin_email="not-an-email")
    assert set(caught.value.message_dict) == {"name", "admin_email"}
    assert _snapshot() == before


@pytest.mark.parametrize("step", ["rows", "schema", "defaults", "invitation"])
def test_a_failure_at_any_step_leaves_no_schema_row_or_domain(world, db, step, django_capture_on_commit_callbacks):
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ProvisioningError):
            provision_site(name="Doomed", subdomain="doomed", admin_email="a@doomed.example", _fail_after=step)
    assert _snapshot() == before
    assert not Client.objects.filter(subdomain="doomed").exists()
    assert not Domain.objects.filter(domain__startswith="doomed.").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 's_doomed_%%'")
        assert cursor.fetchone()[0] == 0
    assert callbacks == [] and mail.outbox == []  # no invitation email for a site that does not exist
    assert http("doomed.tenantdesk.localhost").get("/healthz").status_code == 404
