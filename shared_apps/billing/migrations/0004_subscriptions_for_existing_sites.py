"""Every existing client site gets its subscription (on the site's plan, or the default plan),
started on the day the site was created, with its first SubscriptionChange."""

from django.db import migrations


def forwards(apps, schema_editor):
    Client = apps.get_model("tenancy", "Client")
    Plan = apps.get_model("billing", "Plan")
    Subscription = apps.get_model("billing", "Subscription")
    SubscriptionChange = apps.get_model("billing", "SubscriptionChange")
    default = Plan.objects.filter(is_default=True).first()
    for client in Client.objects.filter(subdomain__isnull=False, subscription__isnull=True):
        plan = client.plan or default
        if plan is None:
            continue
        started = client.created_at.date()
        subscription = Subscription.objects.create(client=client, plan=plan, started_on=started, status="active")
        SubscriptionChange.objects.create(subscription=subscription, plan=plan, effective_on=started)
        if client.plan_id is None:
            client.plan = plan
            client.save(update_fields=["plan"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_billing_subscriptions_invoices"), ("tenancy", "0002_public_site")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
