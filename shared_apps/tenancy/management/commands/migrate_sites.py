"""python manage.py migrate_sites [--jobs N] [--check]"""

import os

from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenancy.schema_migrations import MigrateSitesBusy, migrate_sites


class Command(BaseCommand):
    help = (
        "Migrate the public schema, the template, then only the sites that are behind it (found in one "
        "query), N at a time. A failing site is reported and the others go on; exit status 1 if any failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs", type=int, default=os.cpu_count() or 1, help="Sites migrated at once (default: CPU count)."
        )
        parser.add_argument(
            "--check", action="store_true", help="Only report what is behind; exit status 1 if anything is."
        )

    def handle(self, *args, jobs, check, verbosity, **options):
        if jobs < 1:
            raise CommandError("--jobs must be at least 1.")
        try:
            report = migrate_sites(jobs=jobs, verbosity=max(verbosity - 1, 0), log=self.stdout.write, only_find=check)
        except MigrateSitesBusy as error:
            raise CommandError(str(error)) from None
        if check:
            behind = report.public_pending or report.template_pending or report.behind
            self.stdout.write(f"Checked in {report.seconds:.2f} s.")
            if behind:
                raise CommandError("Migrations are pending.")
            return
        summary = (
            f"Summary: {len(report.migrated)} migrated, {len(report.failed)} failed, "
            f"{report.up_to_date} up to date, in {report.seconds:.2f} s."
        )
        if report.failed:
            self.stdout.write(summary)
            failed = ", ".join(outcome.schema for outcome in report.failed)
            raise CommandError(f"{len(report.failed)} site(s) failed: {failed}")
        self.stdout.write(self.style.SUCCESS(summary))
