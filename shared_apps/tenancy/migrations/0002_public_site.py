"""The public schema's own row: the root domain (any ROOT_DOMAIN) maps to it in the middleware."""

from django.db import migrations


def create_public_row(apps, schema_editor):
    Client = apps.get_model("tenancy", "Client")
    Client.objects.get_or_create(schema_name="public", defaults={"name": "TenantDesk"})


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]
    operations = [migrations.RunPython(create_public_row, migrations.RunPython.noop)]
