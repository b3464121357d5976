"""Two client sites and a cast of users, built once per test database (kept with --reuse-db).

The cast, as in healthchecks' hc/test.py: a platform admin, an engineer covering every site, an
engineer covering acme only, a client admin and a staff member per site, and an outsider with
no site at all. Each test runs in a transaction that is rolled back; fixtures hand out fresh
rows, never the session's objects, so a test that changes a row cannot leak into the next.
"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient

from shared_apps.accounts.models import User
from shared_apps.billing.models import Plan
from shared_apps.engineers.models import EngineerProfile
from shared_apps.tenancy.models import Client
from shared_apps.tenancy.provisioning import provision_site
from shared_apps.tenancy.services import membership_grant
from tests.factories import PASSWORD, user_create

ROOT = settings.ROOT_DOMAIN
ACME_HOST = f"acme.{ROOT}"
GLOBEX_HOST = f"globex.{ROOT}"

CAST = {
    "platform": "platform@test.example",
    "engineer_all": "eng-all@test.example",
    "engineer_acme": "eng-acme@test.example",
    "acme_admin": "admin@acme.example",
    "acme_staff": "staff@acme.example",
    "globex_admin": "admin@globex.example",
    "globex_staff": "staff@globex.example",
    "outsider": "outsider@test.example",
}


def _build_world() -> None:
    plan, _ = Plan.objects.get_or_create(slug="standard", defaults={"name": "Standard", "is_default": True})
    sites = {}
    for name, subdomain in (("Acme Corp", "acme"), ("Globex", "globex")):
        sites[subdomain] = Client.objects.filter(subdomain=subdomain).first() or provision_site(
            name=name, subdomain=subdomain, admin_email=CAST[f"{subdomain}_admin"], plan=plan
        )
    user_create(CAST["platform"], full_name="Pat Platform", superuser=True)
    for key in ("acme_admin", "acme_staff", "globex_admin", "globex_staff"):
        subdomain, role = key.split("_")
        membership_grant(user=user_create(CAST[key]), client=sites[subdomain], role=role)
    for key, all_sites in (("engineer_all", True), ("engineer_acme", False)):
        profile, _ = EngineerProfile.objects.get_or_create(
            user=user_create(CAST[key]), defaults={"covers_all_sites": all_sites}
        )
        if not all_sites:
            profile.sites.set([sites["acme"]])
    user_create(CAST["outsider"])


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _build_world()
    return CAST


@pytest.fixture(autouse=True)
def _clean_state(world, db):
    """Every test: the cast exists, runs in a rolled-back transaction, ends on the public schema
    with an empty cache (the host cache must not remember rows the rollback removed)."""
    yield
    connection.set_schema_to_public()
    cache.clear()


@pytest.fixture
def acme(world, db) -> Client:
    return Client.objects.get(subdomain="acme")


@pytest.fixture
def globex(world, db) -> Client:
    return Client.objects.get(subdomain="globex")


@pytest.fixture
def users(world, db) -> dict[str, User]:
    return {key: User.objects.get(email=email) for key, email in CAST.items()}


def http(host: str, user: User | None = None) -> HttpClient:
    """A browser-like client for one host, logged in as `user` (or anonymous)."""
    client = HttpClient(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def password() -> str:
    return PASSWORD
