"""Per-site numbering stays gap-free when tickets are created at the same moment (real,
concurrent transactions on separate connections)."""

import threading

from celery._state import _set_task_join_will_block
from django.core.exceptions import ValidationError
from django.db import connection, connections

from shared_apps.engineers.models import TicketIndex
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Ticket, TicketCounter

WRITERS = 6


def test_concurrent_creations_get_consecutive_numbers(acme, users):
    requester = users["acme_staff"]
    barrier = threading.Barrier(WRITERS)
    numbers: list[int] = []
    failures: list[BaseException] = []

    def create(index: int) -> None:
        # A thread has its own database connection, outside the test's rolled-back transaction:
        # these tickets are committed for real, and removed below.
        try:
            connection.set_tenant(acme)
            barrier.wait(timeout=10)
            if index == 0:
                try:  # one creation fails after taking a number: the number must come back
                    services.ticket_create(requester=requester, subject="bad", description="")
                except ValidationError:
                    pass
            ticket = services.ticket_create(requester=requester, subject=f"race {index}", description="x")
            numbers.append(ticket.number)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            connections.close_all()

    connection.set_tenant(acme)
    start = TicketCounter.objects.get(pk=1).last_number
    threads = [threading.Thread(target=create, args=(index,)) for index in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert sorted(numbers) == list(range(start + 1, start + WRITERS + 1))
    finally:
        _remove_committed(acme, start)
        # Each creation ran its notification task eagerly in its thread. Celery's Task.apply
        # flips a process-global "join will block" flag and restores it from a saved copy, which
        # concurrent threads can leave at True; put it back so later tests may call .get().
        _set_task_join_will_block(False)


def _remove_committed(acme, start: int) -> None:
    def cleanup():
        try:
            connection.set_tenant(acme)
            Ticket.objects.filter(number__gt=start, subject__startswith="race ").delete()
            TicketCounter.objects.filter(pk=1).update(last_number=start)
            TicketIndex.objects.filter(client=acme, number__gt=start).delete()
        finally:
            connections.close_all()

    thread = threading.Thread(target=cleanup)
    thread.start()
    thread.join(timeout=30)
