"""Create a client site in one transaction: validate, row, domain, schema, defaults, invitation.

The schema is a copy of the migrated template (`schema_clone`), so no migration is replayed.
Everything happens inside one transaction, DDL included (PostgreSQL DDL is transactional): a
failure at any step leaves no schema, row or domain behind. The invitation email is queued
after commit.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction

from shared_apps.billing.models import Plan
from shared_apps.tenancy.models import Client, Domain, Membership
from shared_apps.tenancy.schema_clone import clone_template_schema
from shared_apps.tenancy.schema_names import schema_name_for, subdomain_validate

_TEMPLATE_LOCK = 7_360_001  # pg_advisory_xact_lock key: one template build at a time


class ProvisioningError(Exception):
    """Bad input or a failed step; the message is meant for the person who asked."""


def site_validate(*, name: str, subdomain: str, admin_email: str) -> None:
    """Raise ValidationError (keyed by field) for anything provisioning would refuse."""
    errors: dict[str, list] = {}
    if not name.strip():
        errors["name"] = ["Enter the company's name."]
    elif len(name) > 100:
        errors["name"] = ["Use at most 100 characters."]
    try:
        subdomain_validate(subdomain)
        if Client.objects.filter(subdomain=subdomain).exists():
            raise ValidationError(f"'{subdomain}' is already taken.", code="taken")
    except ValidationError as error:
        errors["subdomain"] = error.messages
    try:
        validate_email(admin_email)
    except ValidationError:
        errors["admin_email"] = ["Enter a valid email address."]
    else:
        from shared_apps.tenancy.services import member_email_check

        try:
            member_email_check(email=admin_email, site_name=name.strip() or "the site")
        except ValidationError as error:
            errors["admin_email"] = error.messages
    if errors:
        raise ValidationError(errors)


def template_ensure() -> Client:
    """The template site: a real tenant row without a domain, so `migrate_schemas` keeps its schema
    current. Built (migrated) the first time only; later calls cost one query."""
    template = Client.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if template is not None:
        return template
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK])
        template, _ = Client.objects.get_or_create(
            schema_name=settings.TENANT_BASE_SCHEMA, defaults={"name": "Site template"}
        )
    template.create_schema(check_if_exists=True, verbosity=0)  # runs migrate_schemas for it
    return template


def provision_site(
    *, name: str, subdomain: str, admin_email: str, plan: Plan | None = None, invited_by=None, _fail_after=None
) -> Client:
    """Create a site and invite its first admin. `_fail_after` (tests only) raises after that step."""
    site_validate(name=name, subdomain=subdomain, admin_email=admin_email)
    # The template is built (once) before the site's own transaction: it is not part of the site.
    template = template_ensure()
    try:
        with transaction.atomic():
            return _provision(
                template=template,
                name=name,
                subdomain=subdomain,
                admin_email=admin_email,
                plan=plan,
                invited_by=invited_by,
                fail_after=_fail_after,
            )
    except IntegrityError:
        # Two requests for the same subdomain at once: the unique constraint lets one win.
        raise ValidationError({"subdomain": [f"'{subdomain}' is already taken."]}) from None


def _provision(*, template: Client, name, subdomain, admin_email, plan, invited_by, fail_after) -> Client:
    client = Client.objects.create(
        schema_name=schema_name_for(subdomain),
        name=name.strip(),
        subdomain=subdomain,
        plan=plan or Plan.objects.filter(is_default=True).first(),
    )
    Domain.objects.create(domain=f"{subdomain}.{settings.ROOT_DOMAIN}", tenant=client, is_primary=True)
    if client.plan is not None:
        from shared_apps.billing.services import subscription_start

        subscription_start(client=client, plan=client.plan)
    _step(fail_after, "rows")
    clone_template_schema(template=template.schema_name, schema=client.schema_name)
    _step(fail_after, "schema")
    site_seed_defaults(client=client)
    _step(fail_after, "defaults")
    from shared_apps.tenancy.services import invitation_create

    invitation_create(client=client, email=admin_email, role=Membership.Role.ADMIN, invited_by=invited_by)
    _step(fail_after, "invitation")
    return client


def _step(fail_after: str | None, step: str) -> None:
    if fail_after == step:
        raise ProvisioningError(f"injected failure after step '{step}'")


def site_seed_defaults(*, client: Client) -> None:
    """Default categories and AI settings, in the new schema. (Defaults that arrived with a
    migration, such as the SLA targets, are already there: migrations seed them in the template.)"""
    from django_tenants.utils import schema_context

    from tenant_apps.ai.models import AISettings
    from tenant_apps.tickets.models import DEFAULT_CATEGORIES, Category

    with schema_context(client.schema_name):
        Category.objects.bulk_create(
            Category(slug=slug, name=label, position=index) for index, (slug, label) in enumerate(DEFAULT_CATEGORIES)
        )
        AISettings.objects.create()
