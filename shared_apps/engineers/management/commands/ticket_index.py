"""python manage.py ticket_index --rebuild [--site SUB] | --check [--site SUB]"""

from django.core.management.base import BaseCommand, CommandError

from shared_apps.engineers.ticket_index import ticket_index_differences, ticket_index_rebuild
from shared_apps.tenancy.selectors import client_sites_queryset


class Command(BaseCommand):
    help = "Rebuild the cross-site ticket index from the sites' schemas, or check it (exit 1 on a difference)."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--rebuild", action="store_true")
        action.add_argument("--check", action="store_true")
        parser.add_argument("--site", help="Only this subdomain.")

    def handle(self, *args, rebuild, check, site, **options):
        sites = client_sites_queryset().order_by("subdomain")
        if site:
            sites = sites.filter(subdomain=site)
            if not sites.exists():
                raise CommandError(f"No site with subdomain '{site}'.")
        if rebuild:
            for client in sites:
                count = ticket_index_rebuild(client=client)
                self.stdout.write(f"{client.subdomain}: {count} tickets indexed")
            return
        problems = [problem for client in sites for problem in ticket_index_differences(client=client)]
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) between the tickets and the index.")
        self.stdout.write(f"The index matches the tickets of {sites.count()} site(s).")
