"""python manage.py create_site --name NAME --subdomain SUB --admin-email EMAIL"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenancy.links import site_url
from shared_apps.tenancy.provisioning import provision_site


class Command(BaseCommand):
    help = "Create a client site (schema, domain, defaults) and invite its first admin."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--subdomain", required=True)
        parser.add_argument("--admin-email", required=True)

    def handle(self, *args, name, subdomain, admin_email, **options):
        try:
            site = provision_site(name=name, subdomain=subdomain, admin_email=admin_email)
        except ValidationError as error:
            raise CommandError(_one_line(error)) from None
        self.stdout.write(site_url(site))


def _one_line(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field.replace('_', '-')}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)
