"""python manage.py export_site --subdomain SUB --out FILE"""

from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenancy.archive.export import site_export
from shared_apps.tenancy.selectors import client_sites_queryset


class Command(BaseCommand):
    help = "Write one site (its schema, its public rows and its files) to a zip archive (docs/export-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("--subdomain", required=True)
        parser.add_argument("--out", required=True, help="The archive to write (.zip).")

    def handle(self, *args, subdomain, out, **options):
        site = client_sites_queryset().filter(subdomain=subdomain).first()
        if site is None:
            raise CommandError(f"No site with subdomain '{subdomain}'.")
        manifest = site_export(client=site, out=out)
        for warning in manifest["warnings"]:
            self.stderr.write(f"warning: {warning}")
        rows = sum(table["rows"] for table in manifest["tables"])
        self.stdout.write(
            f"Exported {site.name} ({subdomain}) to {out}: {len(manifest['tables'])} tables, {rows} rows, "
            f"{len(manifest['files'])} files."
        )
