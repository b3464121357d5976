"""Auto-assignment: skills, coverage, capacity, availability, load and round robin."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.engineers.models import EngineerProfile
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Category, TicketEvent


@pytest.fixture
def engineers(users):
    """ana-like engineer_all and ben-like engineer_acme, both good at networks."""
    all_sites = users["engineer_all"].engineer_profile
    acme_only = users["engineer_acme"].engineer_profile
    for profile in (all_sites, acme_only):
        profile.skills = ["network"]
        profile.capacity = 10
        profile.save()
    return {"all": all_sites, "acme": acme_only}


def _create(site, users, category="network", requester="acme_staff"):
    with tenant_context(site):
        return services.ticket_create(
            requester=users[requester], subject="x", description="x", category=Category.objects.get(slug=category)
        )


def _assignment_event(site, ticket) -> TicketEvent:
    with tenant_context(site):
        return TicketEvent.objects.get(ticket=ticket, kind="auto_assigned")


def test_round_robin_between_equally_loaded_engineers(acme, users, engineers):
    first, second, third = (_create(acme, users) for _ in range(3))
    assignees = [first.assignee_id, second.assignee_id]
    assert set(assignees) == {users["engineer_all"].pk, users["engineer_acme"].pk}
    assert "round robin among 2" in _assignment_event(acme, first).note
    # Both now carry one ticket: the tie goes to whoever was assigned longest ago.
    assert third.assignee_id == first.assignee_id


def test_least_loaded_wins_counting_every_site(acme, globex, users, engineers):
    # engineer_all already carries a globex ticket: the acme ticket goes to engineer_acme.
    with tenant_context(globex):
        busy = services.ticket_create(requester=users["globex_staff"], subject="g", description="x")
        services.ticket_assign(
            ticket=busy, actor=users["engineer_all"], role="engineer", assignee=users["engineer_all"]
        )
    ticket = _create(acme, users)
    assert ticket.assignee_id == users["engineer_acme"].pk
    assert (
        _assignment_event(acme, ticket).note == f"{users['engineer_acme'].display_name}: skills: network; load 0 of 10"
    )


def test_skills_decide(acme, users, engineers):
    engineers["acme"].skills = ["hardware"]
    engineers["acme"].save()
    assert _create(acme, users, category="hardware").assignee_id == users["engineer_acme"].pk
    assert _create(acme, users, category="network").assignee_id == users["engineer_all"].pk
    nobody = _create(acme, users, category="email")
    assert nobody.assignee_id is None
    assert "nobody available covers this site with the skill 'email'" in _assignment_event(acme, nobody).note


def test_coverage_decides(globex, users, engineers):
    ticket = _create(globex, users, requester="globex_staff")
    assert ticket.assignee_id == users["engineer_all"].pk  # engineer_acme does not cover globex


def test_capacity_decides(acme, users, engineers):
    engineers["all"].capacity = 0
    engineers["all"].save()
    engineers["acme"].capacity = 1
    engineers["acme"].save()
    assert _create(acme, users).assignee_id == users["engineer_acme"].pk
    full = _create(acme, users)
    assert full.assignee_id is None
    assert "at capacity" in _assignment_event(acme, full).note


def test_away_engineers_are_skipped_until_they_return(acme, users, engineers):
    engineers["all"].away_until = timezone.localdate() + timedelta(days=2)
    engineers["all"].save()
    engineers["acme"].is_available = False
    engineers["acme"].save()
    assert _create(acme, users).assignee_id is None
    EngineerProfile.objects.filter(pk=engineers["all"].pk).update(away_until=timezone.localdate() - timedelta(days=1))
    assert _create(acme, users).assignee_id == users["engineer_all"].pk


def test_categorizing_later_assigns_and_manual_assignment_wins(acme, users, engineers):
    with tenant_context(acme):
        ticket = services.ticket_create(requester=users["acme_staff"], subject="x", description="x")
        assert ticket.assignee_id is None  # no category yet: nothing to match skills against
        services.ticket_update(ticket=ticket, actor=users["engineer_all"], role="engineer",
                               category=Category.objects.get(slug="network"))  # fmt: skip
        ticket.refresh_from_db()
        assert ticket.assignee_id is not None
        manual = services.ticket_create(requester=users["acme_staff"], subject="y", description="x")
        services.ticket_assign(
            ticket=manual, actor=users["engineer_all"], role="engineer", assignee=users["engineer_all"]
        )
        services.ticket_update(ticket=manual, actor=users["engineer_all"], role="engineer",
                               category=Category.objects.get(slug="network"))  # fmt: skip
        manual.refresh_from_db()
        assert manual.assignee_id == users["engineer_all"].pk
        assert not TicketEvent.objects.filter(ticket=manual, kind="auto_assigned").exists()
