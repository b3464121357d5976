"""Platform admins manage engineers: invite, skills and coverage, availability, hand tickets back."""

import re

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.engineers.models import EngineerProfile, TicketIndex
from tenant_apps.tickets import services
from tenant_apps.tickets.models import TicketEvent
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http

NEW_PASSWORD = "a-brand-new-passphrase-42"


def test_invited_engineer_sets_a_password_and_reaches_the_queue(users, django_capture_on_commit_callbacks):
    admin = http(ROOT, users["platform"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/console/engineers/", {"full_name": "Cleo Tech", "email": "cleo@msp.example"})
    assert response.status_code == 302
    profile = EngineerProfile.objects.get(user__email="cleo@msp.example")
    [email] = mail.outbox
    path = re.search(r"http://tenantdesk\.localhost(/accounts/password/reset/key/\S+/)", email.body).group(1)
    visitor = http(ROOT)
    form_page = visitor.get(path, follow=True)
    response = visitor.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
                            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})  # fmt: skip
    assert response.status_code == 302
    assert User.objects.get(pk=profile.user_id).check_password(NEW_PASSWORD)
    assert http(ROOT, profile.user).get("/queue/").status_code == 200


def test_inviting_an_existing_engineer_says_so(users):
    response = http(ROOT, users["platform"]).post(
        "/console/engineers/", {"full_name": "x", "email": users["engineer_acme"].email}
    )
    assert "is already an engineer" in response.content.decode()


def test_coverage_change_applies_at_once(users, acme, globex):
    engineer = users["engineer_acme"]
    profile = engineer.engineer_profile
    assert http(GLOBEX_HOST, engineer).get("/").status_code == 404
    http(ROOT, users["platform"]).post(
        f"/console/engineers/{profile.pk}/",
        {"skills": ["network"], "sites": [globex.pk], "capacity": "5", "is_available": "on"},
    )
    assert http(GLOBEX_HOST, engineer).get("/").status_code == 200
    assert http(ACME_HOST, engineer).get("/").status_code == 404
    profile.refresh_from_db()
    assert (profile.skills, profile.capacity) == (["network"], 5)


def test_engineer_page_checkboxes_are_bootstrap_ones(users, acme, globex):
    profile = users["engineer_acme"].engineer_profile
    page = http(ROOT, users["platform"]).get(f"/console/engineers/{profile.pk}/").content.decode()
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', page)
    # 7 skills, covers all sites, 2 sites, available, hand tickets back
    assert len(boxes) == 12
    assert all('class="form-check-input"' in box for box in boxes)


def test_setting_someone_away_can_hand_their_tickets_back(users, acme, globex):
    engineer = users["engineer_all"]
    for site, requester in ((acme, "acme_staff"), (globex, "globex_staff")):
        with tenant_context(site):
            ticket = services.ticket_create(requester=users[requester], subject="x", description="x")
            services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
    assert TicketIndex.objects.filter(assignee=engineer).count() == 2
    response = http(ROOT, users["platform"]).post(
        f"/console/engineers/{engineer.engineer_profile.pk}/",
        {"covers_all_sites": "on", "capacity": "10", "away_until": "2099-01-01", "release_tickets": "on"},
        follow=True,
    )
    assert "2 open ticket(s) went back to the pool." in response.content.decode()
    assert TicketIndex.objects.filter(assignee=engineer).count() == 0
    with tenant_context(acme):
        event = TicketEvent.objects.filter(kind="assigned").latest("pk")
        assert event.note == f"{engineer.display_name} is away" and event.after == {"assignee": None}


@pytest.mark.parametrize("role", ["engineer_all", "acme_admin", "outsider"])
def test_only_platform_admins_manage_engineers(users, role):
    profile = users["engineer_acme"].engineer_profile
    client = http(ROOT, users[role])
    assert client.get("/console/engineers/").status_code == 404
    assert client.post(f"/console/engineers/{profile.pk}/", {"capacity": "99"}).status_code == 404
    assert client.post("/console/engineers/", {"full_name": "x", "email": "x@x.example"}).status_code == 404
    profile.refresh_from_db()
    assert profile.capacity != 99 and not User.objects.filter(email="x@x.example").exists()
