"""python manage.py import_site --file FILE --subdomain NEW [--name NAME]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenancy.archive.restore import ArchiveError, site_restore
from shared_apps.tenancy.links import site_url


class Command(BaseCommand):
    help = "Restore a site archive made by export_site as a new site. All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("--file", required=True, help="The archive (.zip) written by export_site.")
        parser.add_argument("--subdomain", required=True, help="The new site's subdomain (must be free).")
        parser.add_argument("--name", default=None, help="The new site's name (default: the archived one).")

    def handle(self, *args, file, subdomain, name, **options):
        try:
            report = site_restore(path=file, subdomain=subdomain, name=name)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except ArchiveError as error:
            raise CommandError(str(error)) from None
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        if report.users_created:
            self.stdout.write(
                f"{len(report.users_created)} people had no account here; created inactive: "
                + ", ".join(report.users_created)
            )
        self.stdout.write(
            f"Restored {report.client.name}: {report.tables} tables, {report.rows} rows, {report.files} files, "
            f"{report.users_mapped} people."
        )
        self.stdout.write(site_url(report.client))
