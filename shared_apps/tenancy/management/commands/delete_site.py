"""python manage.py delete_site --subdomain SUB --yes"""

from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenancy.selectors import client_sites_queryset
from shared_apps.tenancy.services import site_delete


class Command(BaseCommand):
    help = "Delete a client site: its schema, domain, memberships and invitations. Cannot be undone."

    def add_arguments(self, parser):
        parser.add_argument("--subdomain", required=True)
        parser.add_argument("--yes", action="store_true", help="Confirm; without it nothing is deleted.")

    def handle(self, *args, subdomain, yes, **options):
        site = client_sites_queryset().filter(subdomain=subdomain).first()
        if site is None:
            raise CommandError(f"No site with subdomain '{subdomain}'.")
        if not yes:
            raise CommandError(f"This deletes {site.name} and all of its data; add --yes to confirm.")
        site_delete(client=site, by=None, confirmation=subdomain)
        self.stdout.write(f"Deleted {site.name} ({subdomain}).")
