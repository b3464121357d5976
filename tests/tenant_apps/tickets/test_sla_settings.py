"""SLA targets per priority, set by a site's client admins: the service, the page, the effect."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from tenant_apps.tickets import services
from tenant_apps.tickets.forms import sla_amount_split
from tenant_apps.tickets.models import SLAPolicy, Ticket
from tests.conftest import ACME_HOST, http


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


def _targets(priority):
    policy = SLAPolicy.objects.get(priority=priority)
    return policy.first_response_minutes, policy.resolution_minutes


def test_new_targets_apply_to_new_tickets_and_leave_existing_ones_alone(in_acme, users):
    before = services.ticket_create(requester=users["acme_staff"], subject="Old", description="x", priority="urgent")
    services.sla_policy_update(
        priority="urgent", first_response_minutes=30, resolution_minutes=120, actor=users["acme_admin"]
    )
    assert _targets("urgent") == (30, 120)
    after = services.ticket_create(requester=users["acme_staff"], subject="New", description="x", priority="urgent")
    assert after.first_response_due - after.created_at == timedelta(minutes=30)
    assert after.resolution_due - after.created_at == timedelta(minutes=120)
    before = Ticket.objects.get(pk=before.pk)
    assert before.first_response_due - before.created_at == timedelta(minutes=15)  # the seeded default
    assert before.resolution_due - before.created_at == timedelta(hours=4)
    assert _targets("high") == (60, 24 * 60)  # other priorities untouched


@pytest.mark.parametrize(
    ("first", "resolution", "field", "message"),
    [
        (0, 60, "first_response_minutes", "between 1 minute and 7 days"),
        (-5, 60, "first_response_minutes", "between 1 minute and 7 days"),
        (7 * 24 * 60 + 1, 8 * 24 * 60, "first_response_minutes", "between 1 minute and 7 days"),
        (60, 0, "resolution_minutes", "between 1 minute and 90 days"),
        (60, 90 * 24 * 60 + 1, "resolution_minutes", "between 1 minute and 90 days"),
        (120, 60, "resolution_minutes", "cannot be shorter than the first-response target"),
    ],
)
def test_bad_targets_are_refused_with_a_message(in_acme, users, first, resolution, field, message):
    with pytest.raises(ValidationError) as refused:
        services.sla_policy_update(
            priority="high", first_response_minutes=first, resolution_minutes=resolution, actor=users["acme_admin"]
        )
    assert message in refused.value.message_dict[field][0]
    assert _targets("high") == (60, 24 * 60)


def test_equal_targets_and_the_bounds_are_accepted(in_acme, users):
    admin = users["acme_admin"]
    services.sla_policy_update(priority="low", first_response_minutes=60, resolution_minutes=60, actor=admin)
    assert _targets("low") == (60, 60)
    services.sla_policy_update(
        priority="low", first_response_minutes=7 * 1440, resolution_minutes=90 * 1440, actor=admin
    )
    assert _targets("low") == (7 * 1440, 90 * 1440)


def test_unknown_priority_is_refused(in_acme, users):
    with pytest.raises(ValidationError):
        services.sla_policy_update(
            priority="critical", first_response_minutes=5, resolution_minutes=10, actor=users["acme_admin"]
        )
    assert not SLAPolicy.objects.filter(priority="critical").exists()


@pytest.mark.parametrize("who", ["acme_staff", "engineer_all", "globex_admin"])
def test_only_this_sites_client_admins_change_targets(in_acme, users, who):
    with pytest.raises(PermissionDenied):
        services.sla_policy_update(priority="urgent", first_response_minutes=5, resolution_minutes=10, actor=users[who])
    assert _targets("urgent") == (15, 240)


@pytest.mark.parametrize(
    ("minutes", "split"), [(15, (15, "minutes")), (90, (90, "minutes")), (240, (4, "hours")), (1440, (1, "days"))]
)
def test_targets_show_in_the_largest_whole_unit(minutes, split):
    assert sla_amount_split(minutes) == split


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("acme_admin", 200),
        ("acme_staff", 403),
        ("engineer_acme", 403),
        ("engineer_all", 403),
        ("globex_admin", 404),
        ("outsider", 404),
    ],
)
def test_sla_page_per_role(users, who, status):
    client = http(ACME_HOST, users[who])
    assert client.get("/settings/sla/").status_code == status
    data = {
        "priority": "urgent",
        "urgent-first_response": "1",
        "urgent-first_response_unit": "minutes",
        "urgent-resolution": "2",
        "urgent-resolution_unit": "minutes",
    }
    response = client.post("/settings/sla/", data)
    assert response.status_code == (302 if status == 200 else status)


def test_sla_page_sends_strangers_to_login():
    response = http(ACME_HOST).get("/settings/sla/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sla_page_shows_targets_in_readable_units(users):
    page = http(ACME_HOST, users["acme_admin"]).get("/settings/sla/").content.decode()
    assert "Now: first response within 15 minutes, resolution within 4 hours." in page
    assert "Now: first response within 1 hour, resolution within 1 day." in page
    assert 'name="urgent-first_response" id="id_urgent-first_response" value="15"' in page
    assert "applies to tickets opened after you save it" in page


def test_admin_saves_targets_in_hours_and_days(users, acme):
    client = http(ACME_HOST, users["acme_admin"])
    data = {
        "priority": "medium",
        "medium-first_response": "2",
        "medium-first_response_unit": "hours",
        "medium-resolution": "2",
        "medium-resolution_unit": "days",
    }
    response = client.post("/settings/sla/", data, follow=True)
    assert "Medium targets saved. They apply to tickets opened from now on." in response.content.decode()
    connection.set_tenant(acme)
    assert _targets("medium") == (120, 2 * 24 * 60)


@pytest.mark.parametrize(
    ("first", "resolution", "message"),
    [
        (("30", "minutes"), ("10", "minutes"), "The resolution target cannot be shorter than the first-response"),
        (("0", "hours"), ("1", "days"), "Ensure this value is greater than or equal to 1."),
        (("abc", "hours"), ("1", "days"), "Enter a whole number."),
        (("8", "days"), ("9", "days"), "Set a first-response target between 1 minute and 7 days."),
        (("1", "hours"), ("1", "weeks"), "Select a valid choice."),
    ],
)
def test_bad_input_says_why_and_keeps_what_was_typed(users, acme, first, resolution, message):
    client = http(ACME_HOST, users["acme_admin"])
    data = {
        "priority": "high",
        "high-first_response": first[0],
        "high-first_response_unit": first[1],
        "high-resolution": resolution[0],
        "high-resolution_unit": resolution[1],
    }
    response = client.post("/settings/sla/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert 'Not saved: check the <a class="alert-link" href="#sla-high">high priority targets</a> below.' in page
    assert f'name="high-first_response" id="id_high-first_response" value="{first[0]}"' in page
    assert f'<option value="{first[1]}" selected>' in page
    assert 'name="urgent-first_response" id="id_urgent-first_response" value="15"' in page  # others as saved
    connection.set_tenant(acme)
    assert _targets("high") == (60, 24 * 60)


def test_a_post_for_no_known_priority_changes_nothing(users, acme):
    response = http(ACME_HOST, users["acme_admin"]).post("/settings/sla/", {"priority": "critical"}, follow=True)
    assert "Choose one of the priorities below." in response.content.decode()
    connection.set_tenant(acme)
    assert _targets("urgent") == (15, 240)
