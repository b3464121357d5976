"""Default SLA targets and the ticket counter, in every site that exists and in the template
(new sites copy the template's rows when they are provisioned)."""

from django.db import migrations
from django.db.models import Max

DEFAULT_SLA_MINUTES = {  # a copy: migrations must not import models' constants that may change
    "low": (8 * 60, 5 * 24 * 60),
    "medium": (4 * 60, 3 * 24 * 60),
    "high": (60, 24 * 60),
    "urgent": (15, 4 * 60),
}


def seed(apps, schema_editor):
    SLAPolicy = apps.get_model("tickets", "SLAPolicy")
    TicketCounter = apps.get_model("tickets", "TicketCounter")
    Ticket = apps.get_model("tickets", "Ticket")
    for priority, (first, resolution) in DEFAULT_SLA_MINUTES.items():
        SLAPolicy.objects.get_or_create(
            priority=priority, defaults={"first_response_minutes": first, "resolution_minutes": resolution}
        )
    last = Ticket.objects.aggregate(last=Max("number"))["last"] or 0
    TicketCounter.objects.get_or_create(pk=1, defaults={"last_number": last})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_ticket_lifecycle")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
