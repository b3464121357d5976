"""The periodic SLA breach check: the service in a real site schema, the Celery tasks that run it
in every active site (in-process, as without REDIS_URL), and once through a real worker and Redis."""

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from tenant_schemas_celery.app import CeleryApp

from shared_apps.engineers.models import TicketIndex
from shared_apps.tenancy.services import site_suspend
from tenant_apps.tickets import services, tasks
from tenant_apps.tickets.models import Ticket, TicketEvent
from tests.processes import committed, database_url

S = Ticket.Status
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


def _ticket(requester, *, priority: str = "high") -> Ticket:
    """A new ticket; priority high means first response due in 1 h, resolution in 24 h."""
    return services.ticket_create(requester=requester, subject="VPN down", description="<p>x</p>", priority=priority)


def _overdue(requester, *, first_response: bool = True, resolution: bool = False) -> Ticket:
    """A ticket whose due times already passed, for the tasks (which check at the real now)."""
    ticket = _ticket(requester)
    past = timezone.now() - timedelta(minutes=1)
    if first_response:
        ticket.first_response_due = past
    if resolution:
        ticket.resolution_due = past
    ticket.save(update_fields=["first_response_due", "resolution_due"])
    return ticket


def _breach_events(ticket: Ticket) -> list[tuple]:
    events = TicketEvent.objects.filter(ticket=ticket, kind="sla_breach").order_by("pk")
    return [(event.actor_id, event.after) for event in events]


def _flags(ticket: Ticket) -> tuple[bool, bool]:
    ticket.refresh_from_db()
    return ticket.first_response_breached, ticket.resolution_breached


# --- the service ---------------------------------------------------------------------------


def test_unanswered_ticket_breaches_first_response_once_its_due_time_passes(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 59 * timedelta(minutes=1)) == []
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR) == [ticket]
    assert _flags(ticket) == (True, False)
    assert _breach_events(ticket) == [(None, {"breach": "first_response"})]


def test_answered_ticket_does_not_breach_first_response(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_reply(ticket=ticket, actor=users["engineer_all"], role="engineer", body="On it.")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR) == []
    assert _flags(ticket) == (False, False)


def test_answered_ticket_breaches_resolution_once_its_due_time_passes(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_reply(ticket=ticket, actor=users["engineer_all"], role="engineer", body="On it.")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + DAY + HOUR) == [ticket]
    assert _flags(ticket) == (False, True)
    assert _breach_events(ticket) == [(None, {"breach": "resolution"})]


def test_unanswered_ticket_past_both_due_times_gets_both_breaches(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == [ticket]
    assert _flags(ticket) == (True, True)
    assert _breach_events(ticket) == [(None, {"breach": "first_response"}), (None, {"breach": "resolution"})]


def test_pending_ticket_is_not_flagged_while_paused(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    services.ticket_transition(ticket=ticket, actor=users["engineer_all"], role="engineer", new_status=S.PENDING)
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is not None
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []
    assert _flags(ticket) == (False, False)


def test_paused_clock_is_skipped_even_if_the_status_says_otherwise(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=timezone.now())
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_resolved_and_closed_tickets_are_not_flagged(in_acme, users, status):
    ticket = _ticket(users["acme_staff"])
    services.ticket_transition(ticket=ticket, actor=users["engineer_all"], role="engineer", new_status=status)
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * DAY) == []
    assert _flags(ticket) == (False, False)
    assert _breach_events(ticket) == []


def test_ticket_without_priority_has_no_due_times_and_never_breaches(in_acme, users):
    ticket = _ticket(users["acme_staff"], priority="")
    assert services.ticket_sla_breaches_flag(now=ticket.created_at + 30 * DAY) == []


def test_running_the_check_again_flags_nothing_new(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    now = ticket.created_at + 2 * HOUR
    assert services.ticket_sla_breaches_flag(now=now) == [ticket]
    assert services.ticket_sla_breaches_flag(now=now) == []
    # Later the resolution breach is new; the first-response breach is not flagged again.
    assert services.ticket_sla_breaches_flag(now=now + DAY) == [ticket]
    assert services.ticket_sla_breaches_flag(now=now + DAY) == []
    assert [after["breach"] for _, after in _breach_events(ticket)] == ["first_response", "resolution"]


def test_breach_does_not_touch_other_fields_or_reorder_queues(in_acme, users):
    ticket = _ticket(users["acme_staff"])
    before = Ticket.objects.values().get(pk=ticket.pk)
    services.ticket_sla_breaches_flag(now=ticket.created_at + 2 * HOUR)
    after = Ticket.objects.values().get(pk=ticket.pk)
    assert {key for key in before if before[key] != after[key]} == {"first_response_breached"}


def test_candidates_are_found_in_one_query_however_many_breach(in_acme, users):
    tickets = [_ticket(users["acme_staff"]) for _ in range(5)]
    _ticket(users["acme_staff"], priority="low")  # not due yet
    with CaptureQueriesContext(connection) as queries:
        breached = services.ticket_sla_breaches_flag(now=tickets[-1].created_at + 2 * HOUR)
    assert breached == tickets
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1, selects
    assert "FOR UPDATE" in selects[0]
    assert TicketEvent.objects.filter(kind="sla_breach").count() == 5


# --- the tasks, in-process (CELERY_TASK_ALWAYS_EAGER, as without REDIS_URL) -----------------


@pytest.fixture
def overdue_in_both_sites(acme, globex, users):
    """One ticket past its first-response due time in each site, then back to the public schema."""
    tickets = {}
    for site, requester in ((acme, users["acme_staff"]), (globex, users["globex_staff"])):
        with tenant_context(site):
            tickets[site.schema_name] = _overdue(requester)
    assert connection.schema_name == "public"
    return tickets


def _flags_in(site, ticket: Ticket) -> tuple[bool, bool]:
    with tenant_context(site):
        return _flags(ticket)


def test_site_task_runs_in_the_schema_named_by_its_header(acme, globex, overdue_in_both_sites):
    # Queued from the public schema with an explicit header: tenant-schemas-celery switches.
    result = tasks.sla_breach_check_site.apply_async(headers={"_schema_name": acme.schema_name})
    assert result.get() == [overdue_in_both_sites[acme.schema_name].pk]
    assert connection.schema_name == "public"  # restored after the task
    assert _flags_in(acme, overdue_in_both_sites[acme.schema_name]) == (True, False)
    assert _flags_in(globex, overdue_in_both_sites[globex.schema_name]) == (False, False)


def test_site_task_takes_the_schema_it_was_queued_from(acme, globex, overdue_in_both_sites):
    with tenant_context(globex):
        result = tasks.sla_breach_check_site.delay()
    assert result.get() == [overdue_in_both_sites[globex.schema_name].pk]
    assert _flags_in(acme, overdue_in_both_sites[acme.schema_name]) == (False, False)


def test_site_task_queued_from_the_public_schema_refuses_to_run(overdue_in_both_sites):
    with pytest.raises(RuntimeError, match="client site's schema"):
        tasks.sla_breach_check_site.delay()


def test_dispatcher_queues_one_check_per_active_site_each_in_its_schema(
    acme, globex, overdue_in_both_sites, monkeypatch
):
    ran_in = []

    def spy(*, now):
        ran_in.append(connection.schema_name)
        return services.ticket_sla_breaches_flag(now=now)

    monkeypatch.setattr(tasks, "ticket_sla_breaches_flag", spy)
    queued = tasks.sla_breach_check_all.delay().get()
    assert sorted(queued) == sorted(ran_in) == sorted([acme.schema_name, globex.schema_name])
    assert settings.TENANT_BASE_SCHEMA not in queued
    assert connection.schema_name == "public"
    for site in (acme, globex):
        ticket = overdue_in_both_sites[site.schema_name]
        assert _flags_in(site, ticket) == (True, False)
        with tenant_context(site):
            assert _breach_events(ticket) == [(None, {"breach": "first_response"})]


def test_dispatcher_skips_suspended_sites(acme, globex, users, overdue_in_both_sites):
    site_suspend(client=globex, by=users["platform"])
    assert tasks.sla_breach_check_all.delay().get() == [acme.schema_name]
    assert _flags_in(acme, overdue_in_both_sites[acme.schema_name]) == (True, False)
    assert _flags_in(globex, overdue_in_both_sites[globex.schema_name]) == (False, False)


# --- a real worker, through Redis -----------------------------------------------------------

WORKER_REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKER_SECONDS = 20


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(WORKER_REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_real_worker_checks_every_active_site_in_its_own_schema(acme, globex, users):
    if not _redis_available():
        pytest.skip(f"no Redis at {WORKER_REDIS_URL}")
    # Committed rows, made without the services so no site's ticket counter moves, numbered
    # beyond what the rolled-back tests use. acme's ticket misses its first response, globex's
    # its resolution: each site's events show the check ran on that site's own rows.
    number = 900_001
    overdue = {
        acme.schema_name: (acme, users["acme_staff"], "first_response"),
        globex.schema_name: (globex, users["globex_staff"], "resolution"),
    }

    def create() -> dict[str, int]:
        now = timezone.now()
        ids = {}
        for schema, (site, requester, breach) in overdue.items():
            due = {"first_response_due": now + HOUR, "resolution_due": now + DAY, f"{breach}_due": now - HOUR}
            with tenant_context(site):
                Ticket.objects.filter(number=number).delete()  # left by an interrupted run
                ticket = Ticket.objects.create(
                    number=number, subject="SLA", description="x", priority="high", requester=requester, **due
                )
            ids[schema] = ticket.pk
        return ids

    def delete() -> None:
        for site, *_ in overdue.values():
            with tenant_context(site):
                Ticket.objects.filter(number=number).delete()  # its events go with it
            TicketIndex.objects.filter(client=site, number=number).delete()  # the worker indexed it

    log = tempfile.TemporaryFile(mode="w+b")
    worker = None
    # Not the current app: the other tests' tasks must stay in-process.
    probe = CeleryApp("sla-breach-test", broker=WORKER_REDIS_URL, set_as_current=False)
    try:
        ids = committed(create)
        probe.control.purge()  # nothing left over from an interrupted run
        # Queued from this process in the public schema, as beat does: the header says "public".
        probe.send_task("tenant_apps.tickets.tasks.sla_breach_check_all")
        env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": WORKER_REDIS_URL,
            "TESTING": "1",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool=solo", "--concurrency=1"]
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
        worker = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-6000:]

        expected = {
            schema: (breach == "first_response", breach == "resolution") for schema, (*_, breach) in overdue.items()
        }
        deadline = time.monotonic() + WORKER_SECONDS
        while (flags := {s: _flags_in(site, Ticket(pk=ids[s])) for s, (site, *_) in overdue.items()}) != expected:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited with code {worker.returncode}:\n{output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"breaches not flagged within {WORKER_SECONDS} s ({flags}):\n{output()}")
            time.sleep(0.2)
        for schema, (site, _, breach) in overdue.items():
            with tenant_context(site):
                assert _breach_events(Ticket(pk=ids[schema])) == [(None, {"breach": breach})]
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        log.close()
        probe.close()
        committed(delete)
