"""The periodic SLA breach check (DESIGN sections 5 and 8).

Beat queues `sla_breach_check_all` every few minutes (`CELERY_BEAT_SCHEDULE`); it runs in the
public schema and queues one `sla_breach_check_site` per active client site. tenant-schemas-celery
puts the connection's schema at queue time into the message's `_schema_name` header and the
worker switches to it before the task runs, so the dispatcher queues each site's task inside
`tenant_context(site)`. The site task takes no arguments: its schema is its only input.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from shared_apps.tenancy.models import Client
from shared_apps.tenancy.selectors import client_sites_queryset
from tenant_apps.tickets.services import ticket_sla_breaches_flag

logger = logging.getLogger(__name__)

# A check still waiting after this long is superseded by the next round: drop it rather than let
# a backed-up queue run a pile of identical checks.
SITE_CHECK_EXPIRES_SECONDS = 4 * 60


@shared_task
def sla_breach_check_site() -> list[int]:
    """Flag the SLA breaches of the site whose schema this task was queued from; returns the ids
    of the newly breached tickets. Notifying their assignees is left to the notification work,
    which can hook in on the service's result or on the `sla_breach` events."""
    schema = connection.schema_name
    if schema in (get_public_schema_name(), settings.TENANT_BASE_SCHEMA):
        # Queued without a site schema: there are no tickets here, and the template has none.
        raise RuntimeError(f"sla_breach_check_site must be queued from a client site's schema, not {schema!r}.")
    breached = ticket_sla_breaches_flag(now=timezone.now())
    if breached:
        logger.info("SLA breaches flagged in %s: tickets %s", schema, [ticket.number for ticket in breached])
    return [ticket.pk for ticket in breached]


@shared_task
def sla_breach_check_all() -> list[str]:
    """Queue `sla_breach_check_site` once per active client site (not the public schema, not the
    template, not suspended sites); returns the schemas queued."""
    sites = list(client_sites_queryset().filter(status=Client.Status.ACTIVE).order_by("pk"))
    for site in sites:
        # The header is taken from the connection when the message is built, i.e. right here.
        # Not `delay_on_commit`: inside a transaction it builds the message at commit, after
        # this block has switched back, and the task would be queued for the public schema.
        with tenant_context(site):
            sla_breach_check_site.apply_async(expires=SITE_CHECK_EXPIRES_SECONDS)
    return [site.schema_name for site in sites]
