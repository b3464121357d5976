"""Keeping `TicketIndex` equal to the tickets: one upsert per change, rebuild and check."""

from django.db import connection

from shared_apps.engineers.models import TicketIndex

INDEXED_FIELDS = [
    "number",
    "subject",
    "status",
    "priority",
    "category_slug",
    "requester_id",
    "assignee_id",
    "sla_due",
    "sla_breached",
    "created_at",
    "updated_at",
]


def current_client_id() -> int:
    """The `Client` id of the schema the connection is on."""
    tenant = getattr(connection, "tenant", None)
    if getattr(tenant, "pk", None):
        return tenant.pk
    from shared_apps.tenancy.models import Client  # schema_context() sets a FakeTenant

    return Client.objects.only("pk").get(schema_name=connection.schema_name).pk


def index_row_for(ticket, *, client_id: int) -> TicketIndex:
    return TicketIndex(
        client_id=client_id,
        ticket_pk=ticket.pk,
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        category_slug=ticket.category.slug if ticket.category_id else "",
        requester_id=ticket.requester_id,
        assignee_id=ticket.assignee_id,
        # No due time while the clock is stopped (finished, or paused waiting on the requester):
        # such tickets are not "breaching soon"; the due time comes back, moved, on resume.
        sla_due=None if ticket.is_finished or ticket.sla_paused_at else ticket.sla_due,
        sla_breached=ticket.first_response_breached or ticket.resolution_breached,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def ticket_index_sync(tickets) -> None:
    """Upsert the index rows of `tickets` (of the current site) in one statement; runs inside the
    caller's transaction, so a rolled-back change leaves the index as it was."""
    client_id = current_client_id()
    rows = [index_row_for(ticket, client_id=client_id) for ticket in tickets]
    TicketIndex.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["client", "ticket_pk"], update_fields=INDEXED_FIELDS
    )


def ticket_index_differences(*, client) -> list[str]:
    """What differs between a site's tickets and its index rows (empty when they agree)."""
    from django_tenants.utils import tenant_context

    from tenant_apps.tickets.models import Ticket

    with tenant_context(client):
        expected = {t.pk: index_row_for(t, client_id=client.pk) for t in Ticket.objects.select_related("category")}
    actual = {row.ticket_pk: row for row in TicketIndex.objects.filter(client=client)}
    problems = [
        f"{client.subdomain}: ticket #{expected[pk].number} has no index row" for pk in expected.keys() - actual.keys()
    ]
    problems += [f"{client.subdomain}: index row for missing ticket pk {pk}" for pk in actual.keys() - expected.keys()]
    for pk in expected.keys() & actual.keys():
        for field in INDEXED_FIELDS:
            want, have = getattr(expected[pk], field), getattr(actual[pk], field)
            if want != have:
                problems.append(
                    f"{client.subdomain}: ticket #{expected[pk].number} {field}: index {have!r}, ticket {want!r}"
                )
    return problems


def ticket_index_rebuild(*, client) -> int:
    """Replace a site's index rows (tickets and time entries) with rows made from its schema;
    returns how many tickets."""
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.engineers.models import TimeEntryIndex
    from tenant_apps.tickets.models import Ticket, TimeEntry

    with transaction.atomic():
        billed = dict(
            TimeEntryIndex.objects.filter(client=client, invoice_line__isnull=False).values_list(
                "entry_pk", "invoice_line_id"
            )
        )
        with tenant_context(client):
            rows = [index_row_for(t, client_id=client.pk) for t in Ticket.objects.select_related("category")]
            times = [
                TimeEntryIndex(
                    client_id=client.pk,
                    entry_pk=e.pk,
                    engineer_id=e.engineer_id,
                    ticket_number=e.ticket.number,
                    ticket_subject=e.ticket.subject,
                    minutes=e.minutes,
                    billable=e.billable,
                    note=e.note,
                    work_date=e.work_date,
                    # An invoiced entry stays linked to its invoice line (and so stays locked).
                    invoice_line_id=billed.get(e.pk),
                )
                for e in TimeEntry.objects.select_related("ticket")
            ]
        TicketIndex.objects.filter(client=client).delete()
        TicketIndex.objects.bulk_create(rows, batch_size=1000)
        TimeEntryIndex.objects.filter(client=client).delete()
        TimeEntryIndex.objects.bulk_create(times, batch_size=1000)
    return len(rows)


def time_entry_index_add(entry) -> None:
    """Mirror a new time entry of the current site into TimeEntryIndex (same transaction)."""
    from shared_apps.engineers.models import TimeEntryIndex

    TimeEntryIndex.objects.create(
        client_id=current_client_id(),
        entry_pk=entry.pk,
        engineer_id=entry.engineer_id,
        ticket_number=entry.ticket.number,
        ticket_subject=entry.ticket.subject,
        minutes=entry.minutes,
        billable=entry.billable,
        note=entry.note,
        work_date=entry.work_date,
    )
