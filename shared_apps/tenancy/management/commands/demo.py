"""python manage.py demo: the sample platform a new user sees after `make run` (idempotent)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from shared_apps.accounts.models import User
from shared_apps.billing.models import Plan
from shared_apps.engineers.models import EngineerProfile
from shared_apps.engineers.ticket_index import ticket_index_rebuild
from shared_apps.publishing.demo import publishing_demo_load
from shared_apps.tenancy.links import root_url, site_url
from shared_apps.tenancy.models import Client
from shared_apps.tenancy.provisioning import provision_site
from shared_apps.tenancy.services import membership_grant
from tenant_apps.reviews.demo import demo_profiles_and_service_review
from tenant_apps.tickets.demo import tickets_demo_load

SITES = [
    (
        "Acme Corp",
        "acme",
        [("admin@acme.demo.test", "Ada Admin", "admin"), ("alice@acme.demo.test", "Alice Archer", "staff")],
    ),
    (
        "Globex",
        "globex",
        [("admin@globex.demo.test", "Gus Admin", "admin"), ("gary@globex.demo.test", "Gary Green", "staff")],
    ),
]
ENGINEERS = [
    (
        "ana@demo.test",
        "Ana Engineer",
        True,
        [],
        ["network", "hardware", "software", "access", "email", "security", "other"],
    ),
    ("ben@demo.test", "Ben Engineer", False, ["acme"], ["network", "hardware"]),
]
PLATFORM_ADMIN = ("platform@demo.test", "Pat Platform")


class Command(BaseCommand):
    help = "Create (or refresh) the demo sites, people and data. Safe to run again."

    def handle(self, *args, **options):
        # The demo's own invitations and ticket notifications are kept in memory, not printed or
        # sent: the people are invented. Everything done in the running site emails as usual.
        # AI work runs inline here (not in background threads that would die with the command).
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", AI_RUN_IN_THREAD=False,
            AI_OFFLINE_STREAM_DELAY=0,
        ):  # fmt: skip
            self._load()
        self._print(settings.DEMO_PASSWORD)

    def _load(self) -> None:
        password = settings.DEMO_PASSWORD
        with transaction.atomic():
            plan, _ = Plan.objects.get_or_create(
                slug="standard", defaults={"name": "Standard", "monthly_fee": "490.00", "seats": 25, "is_default": True}
            )
        admin = _person(*PLATFORM_ADMIN, password=password)
        if not admin.is_superuser:
            admin.is_superuser = admin.is_staff = True
            admin.save(update_fields=["is_superuser", "is_staff"])
        sites = {}
        for name, subdomain, people in SITES:
            site = Client.objects.filter(subdomain=subdomain).first()
            if site is None:
                site = provision_site(name=name, subdomain=subdomain, admin_email=people[0][0], plan=plan)
            sites[subdomain] = site
            for email, full_name, role in people:
                user = _person(email, full_name, password=password)
                membership_grant(user=user, client=site, role=role)
            # The first admin joined above, so their emailed invitation is no longer needed.
            site.invitations.filter(accepted_at__isnull=True, email=people[0][0]).delete()
        for email, full_name, all_sites, covered, skills in ENGINEERS:
            user = _person(email, full_name, password=password)
            profile, _ = EngineerProfile.objects.update_or_create(
                user=user, defaults={"covers_all_sites": all_sites, "skills": skills, "is_active": True}
            )
            profile.sites.set([sites[sub] for sub in covered])
        demo_profiles_and_service_review(sites, {user.email: user for user in User.objects.all()})
        # The knowledge base first: the tickets' history links its articles and the AI quotes them.
        publishing_demo_load(sites)  # site and global articles, an announcement
        tickets_demo_load(sites)  # weeks of tickets, with time entries, AI work and ratings
        for site in sites.values():  # the history's index rows carry its dates, not today's
            ticket_index_rebuild(client=site)
        from shared_apps.billing.demo import demo_billing

        demo_billing(sites, platform_admin=admin)
        _demo_export(next(iter(sites.values())))

    def _print(self, password: str) -> None:
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("TenantDesk demo is ready."))
        out(f"  Public site + platform console: {root_url()}")
        for name, subdomain, _ in SITES:
            out(f"  {name:<10} {site_url(Client.objects.get(subdomain=subdomain))}")
        out(f"  Password for every login: {password}")
        out(f"  Platform admin: {PLATFORM_ADMIN[0]}")
        out("  Engineers:      ana@demo.test (all sites), ben@demo.test (acme only)")
        out(f"  Billing:        {root_url('/console/billing/')} (platform admin), /billing/ on a site (client admin)")
        for name, _, people in SITES:
            out(f"  {name + ':':<15} " + ", ".join(f"{email} ({role})" for email, _, role in people))
        out("  Live threads: open one acme ticket as alice and as ben (two browsers or a private window):")
        out("  replies, internal notes (ben only), typing and who is viewing appear without reload.")
        out("")


def _demo_export(site: Client) -> None:
    """One export archive of the first demo site, listed in the console (Sites -> Export)."""
    from shared_apps.tenancy.archive.exports import site_export_list, site_export_write

    if not any(export.ready for export in site_export_list(client=site)):
        site_export_write(client=site)


def _person(email: str, full_name: str, *, password: str) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user
