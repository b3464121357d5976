"""Platform admins manage engineers: invite, skills and coverage, availability, hand tickets back."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.engineers.models import EngineerProfile, TicketIndex
from shared_apps.tenancy.models import Invitation
from shared_apps.tenancy.services import invitation_create, membership_grant
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


def _invite_engineer(users, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return http(ROOT, users["platform"]).post("/console/engineers/", {"full_name": "Someone", "email": email})


def _refused_untouched(response, user):
    assert response.status_code == 400  # the form again, with its error
    assert not EngineerProfile.objects.filter(user=user).exists()
    assert mail.outbox == []  # no password-reset link to a client's mailbox
    assert http(GLOBEX_HOST, user).get("/").status_code == 404  # no engineer coverage either


def test_a_client_users_address_cannot_become_an_engineer(users, django_capture_on_commit_callbacks):
    staff = users["acme_staff"]
    response = _invite_engineer(users, staff.email.upper(), django_capture_on_commit_callbacks)
    page = response.content.decode()
    assert (
        f"{staff.email} belongs to a member of the client site Acme Corp. Engineers are the IT company&#x27;s own "
        "staff: invite them with their work address at the IT company, not one a client site uses."
    ) in page
    _refused_untouched(response, staff)


def test_a_deactivated_client_user_is_still_a_client_user(users, acme, django_capture_on_commit_callbacks):
    # Their client admin can reactivate them at any time, and their mailbox is still the client's.
    staff = users["acme_staff"]
    acme.memberships.filter(user=staff).update(is_active=False)
    response = _invite_engineer(users, staff.email, django_capture_on_commit_callbacks)
    assert "belongs to a deactivated member of the client site Acme Corp." in response.content.decode()
    _refused_untouched(response, staff)


def test_an_address_invited_to_a_client_site_cannot_become_an_engineer(users, acme, django_capture_on_commit_callbacks):
    invitation_create(client=acme, email="newcomer@acme.example", role="staff")
    response = _invite_engineer(users, "newcomer@acme.example", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "belongs to a person invited to the client site Acme Corp." in response.content.decode()
    assert not User.objects.filter(email="newcomer@acme.example").exists() and mail.outbox == []


def test_an_expired_invitation_does_not_hold_the_address(users, acme, django_capture_on_commit_callbacks):
    invitation_create(client=acme, email="late@msp.example", role="staff")
    Invitation.objects.filter(email="late@msp.example").update(expires_at=timezone.now() - timedelta(minutes=1))
    assert _invite_engineer(users, "late@msp.example", django_capture_on_commit_callbacks).status_code == 302
    assert EngineerProfile.objects.filter(user__email="late@msp.example").exists()


def test_a_member_of_two_sites_is_named_with_both(users, globex, django_capture_on_commit_callbacks):
    staff = users["acme_staff"]
    membership_grant(user=staff, client=globex, role="staff")
    globex.memberships.filter(user=staff).update(is_active=False)
    response = _invite_engineer(users, staff.email, django_capture_on_commit_callbacks)
    assert (
        f"{staff.email} belongs to a deactivated member of the client site Globex and a member of the client site "
        "Acme Corp."
    ) in response.content.decode()


def test_an_account_on_no_site_can_become_an_engineer(users, django_capture_on_commit_callbacks):
    response = _invite_engineer(users, users["outsider"].email, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert EngineerProfile.objects.filter(user=users["outsider"]).exists()
    [email] = mail.outbox
    assert email.to == [users["outsider"].email]


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
