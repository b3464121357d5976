"""python manage.py invoice_run --month 2026-10: issue that month's invoices (safe to repeat)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shared_apps.billing.invoicing import invoice_run, previous_month


class Command(BaseCommand):
    help = "Issue the monthly invoices of every site for a month (default: last month). Never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: the month before today)")

    def handle(self, *args, month=None, **options):
        today = timezone.localdate()
        if month:
            try:
                start = dt.datetime.strptime(month, "%Y-%m").date()
            except ValueError:
                raise CommandError(f"--month takes YYYY-MM, not {month!r}.") from None
        else:
            start = previous_month(today)
        if start >= today.replace(day=1):
            raise CommandError(f"{start:%Y-%m} is not over yet: invoice a past month.")
        result = invoice_run(month=start, today=today)
        self.stdout.write(
            f"{start:%Y-%m}: {len(result.issued)} invoices issued, {result.already} sites invoiced already, "
            f"{result.nothing_to_bill} with nothing to bill."
        )
