"""The cross-site TicketIndex follows every ticket change in the same transaction."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from shared_apps.engineers.models import TicketIndex
from shared_apps.engineers.ticket_index import ticket_index_differences
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Category, Ticket
from tests.processes import committed


@pytest.fixture
def ticket(acme, users):
    with tenant_context(acme):
        return services.ticket_create(requester=users["acme_staff"], subject="VPN", description="x", priority="high")


def _row(site, ticket) -> TicketIndex:
    return TicketIndex.objects.get(client=site, ticket_pk=ticket.pk)


def test_every_change_reaches_the_index(acme, users, ticket):
    row = _row(acme, ticket)
    assert (row.number, row.status, row.priority, row.sla_due) == (
        ticket.number,
        "new",
        "high",
        ticket.first_response_due,
    )
    with tenant_context(acme):
        services.ticket_update(ticket=ticket, actor=users["engineer_acme"], role="engineer", priority="urgent",
                               category=Category.objects.get(slug="network"))  # fmt: skip
        services.ticket_assign(
            ticket=ticket, actor=users["engineer_all"], role="engineer", assignee=users["engineer_acme"]
        )
        services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="on it")
        fresh = Ticket.objects.get(pk=ticket.pk)
    row = _row(acme, ticket)
    assert (row.priority, row.category_slug, row.assignee_id, row.status) == (
        "urgent",
        "network",
        users["engineer_acme"].pk,
        "open",
    )
    assert row.sla_due == fresh.resolution_due  # answered: the next target is the resolution
    assert ticket_index_differences(client=acme) == []


def test_a_rolled_back_change_leaves_the_index_alone(acme, users, ticket):
    with tenant_context(acme):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.ticket_transition(
                ticket=ticket, actor=users["engineer_acme"], role="engineer", new_status="resolved"
            )
            raise RuntimeError("rollback")
    assert _row(acme, ticket).status == "new"


def test_check_finds_differences_and_rebuild_repairs_them(acme, ticket, capsys):
    TicketIndex.objects.filter(client=acme, ticket_pk=ticket.pk).update(status="closed", subject="stale")
    with pytest.raises(CommandError, match="2 difference"):
        call_command("ticket_index", "--check", "--site", "acme")
    out = capsys.readouterr().out
    assert f"acme: ticket #{ticket.number} status: index 'closed', ticket 'new'" in out
    call_command("ticket_index", "--rebuild", "--site", "acme")
    call_command("ticket_index", "--check")
    assert "The index matches the tickets" in capsys.readouterr().out


def test_two_engineers_saving_the_same_ticket_at_once_leave_the_index_equal_to_the_ticket(acme, users):
    """Two real transactions on two connections; the ticket row lock orders them."""

    def create():
        with tenant_context(acme):
            return services.ticket_create(requester=users["acme_staff"], subject="race", description="x").pk

    pk = committed(create)
    barrier = threading.Barrier(2)
    errors = []

    def save(priority: str, engineer) -> None:
        try:
            with tenant_context(acme):
                ticket = Ticket.objects.get(pk=pk)
                barrier.wait(timeout=10)
                services.ticket_update(ticket=ticket, actor=engineer, role="engineer", priority=priority)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=("low", users["engineer_acme"])),
        threading.Thread(target=save, args=("urgent", users["engineer_all"])),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []

        def compare():
            with tenant_context(acme):
                ticket = Ticket.objects.get(pk=pk)
            row = TicketIndex.objects.get(client=acme, ticket_pk=pk)
            return ticket.priority, row.priority, row.sla_due == ticket.sla_due

        ticket_priority, index_priority, same_due = committed(compare)
        assert ticket_priority in ("low", "urgent")
        assert index_priority == ticket_priority and same_due
    finally:

        def cleanup():
            with tenant_context(acme):
                number = Ticket.objects.get(pk=pk).number
                Ticket.objects.filter(pk=pk).delete()
                from tenant_apps.tickets.models import TicketCounter

                TicketCounter.objects.filter(pk=1, last_number=number).update(last_number=number - 1)
            TicketIndex.objects.filter(client=acme, ticket_pk=pk).delete()

        committed(cleanup)


def test_deleting_a_site_removes_its_index_rows(acme, users, ticket):
    from shared_apps.tenancy.services import site_delete

    site_delete(client=acme, by=users["platform"], confirmation="acme")
    assert not TicketIndex.objects.filter(ticket_pk=ticket.pk, number=ticket.number).exists()
