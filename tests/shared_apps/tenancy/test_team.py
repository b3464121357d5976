"""Client admins invite and deactivate their staff; invitations become accounts and memberships."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.tenancy.models import Invitation, Membership
from shared_apps.tenancy.services import invitation_create
from tests.conftest import ACME_HOST, GLOBEX_HOST, http

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _invite(users, email, django_capture_on_commit_callbacks, role="staff") -> str:
    """Invite through the team page; return the path of the emailed link."""
    with django_capture_on_commit_callbacks(execute=True):
        response = http(ACME_HOST, users["acme_admin"]).post("/team/", {"invite-email": email, "invite-role": role})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [email]
    return re.search(r"http://acme\.tenantdesk\.localhost(/invite/\S+/)", message.body).group(1)


def test_team_page_lists_members_and_pending_invitations(users, acme):
    invitation_create(client=acme, email="pending@acme.example", role="staff", invited_by=users["acme_admin"])
    page = http(ACME_HOST, users["acme_admin"]).get("/team/").content.decode()
    assert users["acme_staff"].email in page and "pending@acme.example" in page
    assert users["globex_staff"].email not in page


def test_invited_person_sets_a_password_and_lands_on_the_site(users, acme, django_capture_on_commit_callbacks):
    path = _invite(users, "new.hire@acme.example", django_capture_on_commit_callbacks)
    visitor = http(ACME_HOST)
    page = visitor.get(path)
    assert page.status_code == 200 and "Join Acme Corp" in page.content.decode()

    response = visitor.post(path, {"full_name": "New Hire", "password1": "short", "password2": "short"})
    assert response.status_code == 200 and "too short" in response.content.decode()
    response = visitor.post(path, {"full_name": "New Hire", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert visitor.get("/").status_code == 200  # logged in
    user = User.objects.get(email="new.hire@acme.example")
    assert user.check_password(NEW_PASSWORD) and user.full_name == "New Hire"
    assert Membership.objects.get(user=user, client=acme).role == "staff"
    again = visitor.get(path)  # the link works once; back on it, its new member is told they are in
    assert again.status_code == 200 and "You are already a member of Acme Corp" in again.content.decode()
    assert http(ACME_HOST).get(path).status_code == 410


def test_existing_user_logs_in_to_accept(users, acme, django_capture_on_commit_callbacks, password):
    path = _invite(users, users["outsider"].email, django_capture_on_commit_callbacks)
    assert "Log in to accept" in http(ACME_HOST).get(path).content.decode()
    outsider = http(ACME_HOST, users["outsider"])
    assert outsider.get("/").status_code == 404
    assert outsider.post(path).status_code == 302
    assert outsider.get("/").status_code == 200


def test_invitation_for_someone_else_is_refused(users, django_capture_on_commit_callbacks):
    path = _invite(users, "someone@acme.example", django_capture_on_commit_callbacks)
    response = http(ACME_HOST, users["outsider"]).post(path, follow=True)
    assert "This invitation is for someone@acme.example" in response.content.decode()
    assert not Membership.objects.filter(user=users["outsider"]).exists()


def test_invitation_links_do_not_work_on_another_site(users, django_capture_on_commit_callbacks):
    path = _invite(users, "someone@acme.example", django_capture_on_commit_callbacks)
    assert http(GLOBEX_HOST).get(path).status_code == 404


def test_expired_invitation_is_refused(users, django_capture_on_commit_callbacks):
    path = _invite(users, "late@acme.example", django_capture_on_commit_callbacks)
    Invitation.objects.filter(email="late@acme.example").update(expires_at=timezone.now() - timedelta(minutes=1))
    response = http(ACME_HOST).post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert not User.objects.filter(email="late@acme.example").exists()


def test_inviting_a_current_member_says_so(users):
    response = http(ACME_HOST, users["acme_admin"]).post(
        "/team/", {"invite-email": users["acme_staff"].email, "invite-role": "staff"}
    )
    assert "already a member of Acme Corp" in response.content.decode()


def test_client_admin_deactivates_and_reactivates_staff(users, acme):
    admin = http(ACME_HOST, users["acme_admin"])
    membership = acme.memberships.get(user=users["acme_staff"])
    assert admin.post(f"/team/{membership.pk}/deactivate/").status_code == 302
    assert http(ACME_HOST, users["acme_staff"]).get("/").status_code == 404
    assert admin.post(f"/team/{membership.pk}/reactivate/").status_code == 302
    assert http(ACME_HOST, users["acme_staff"]).get("/").status_code == 200


def test_client_admin_cannot_deactivate_themselves(users, acme):
    membership = acme.memberships.get(user=users["acme_admin"])
    response = http(ACME_HOST, users["acme_admin"]).post(f"/team/{membership.pk}/deactivate/", follow=True)
    assert "You cannot deactivate yourself." in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).is_active


def test_a_member_of_another_site_cannot_be_touched(users, globex):
    other = globex.memberships.get(user=users["globex_staff"])
    assert http(ACME_HOST, users["acme_admin"]).post(f"/team/{other.pk}/deactivate/").status_code == 404
    assert Membership.objects.get(pk=other.pk).is_active


@pytest.mark.parametrize(("role", "status"), [("acme_staff", 403), ("engineer_acme", 403), ("globex_admin", 404)])
def test_only_the_sites_client_admins_manage_its_team(users, acme, role, status):
    membership = acme.memberships.get(user=users["acme_staff"])
    client = http(ACME_HOST, users[role])
    assert client.post(f"/team/{membership.pk}/deactivate/").status_code == status
    assert client.post("/team/", {"invite-email": "x@acme.example", "invite-role": "admin"}).status_code == status
    assert (
        client.post("/team/signup/", {"signup-allow_signup": "on", "signup-signup_domains": "x.com"}).status_code
        == status
    )
    assert Membership.objects.get(pk=membership.pk).is_active
    assert not Invitation.objects.filter(email="x@acme.example").exists()


def test_client_admin_turns_on_self_signup_for_listed_domains(users, acme):
    admin = http(ACME_HOST, users["acme_admin"])
    response = admin.post("/team/signup/", {"signup-allow_signup": "on", "signup-signup_domains": ""}, follow=True)
    assert "List at least one email domain" in response.content.decode()
    response = admin.post(
        "/team/signup/", {"signup-allow_signup": "on", "signup-signup_domains": "not a domain"}, follow=True
    )
    assert "is not an email domain" in response.content.decode()
    admin.post("/team/signup/", {"signup-allow_signup": "on", "signup-signup_domains": "Acme.example, @acme.co.uk"})
    acme.refresh_from_db()
    assert acme.allow_signup and acme.signup_domains == ["acme.co.uk", "acme.example"]


# --- engineers are not invited as staff --------------------------------------------------------


def test_an_engineers_address_cannot_be_invited_as_staff(users, acme, django_capture_on_commit_callbacks):
    engineer = users["engineer_all"]
    with django_capture_on_commit_callbacks(execute=True):
        response = http(ACME_HOST, users["acme_admin"]).post(
            "/team/", {"invite-email": engineer.email, "invite-role": "staff"}
        )
    assert response.status_code == 400
    assert (
        f"{engineer.email} belongs to one of the IT company&#x27;s engineers. Engineers are not invited as staff: "
        "they reach Acme Corp through the coverage the IT company sets on its platform, and take no seat."
    ) in response.content.decode()
    assert not Invitation.objects.filter(email=engineer.email).exists() and mail.outbox == []


def test_an_engineer_cannot_accept_an_invitation_sent_before_they_became_one(users, acme):
    # Written before the rule existed: the invitation cannot make the engineer a member either.
    invitation = Invitation.objects.create(
        client=acme, email=users["engineer_acme"].email, role="staff", token_hash=Invitation.hash_token("old")
    )
    response = http(ACME_HOST, users["engineer_acme"]).post("/invite/old/", follow=True)
    assert "belongs to one of the IT company&#x27;s engineers" in response.content.decode()
    assert not Membership.objects.filter(user=users["engineer_acme"]).exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


# --- cancelling and replacing invitations ------------------------------------------------------


def test_client_admin_cancels_a_pending_invitation_and_its_link_stops_working(
    users, acme, django_capture_on_commit_callbacks
):
    path = _invite(users, "maybe@acme.example", django_capture_on_commit_callbacks)
    admin = http(ACME_HOST, users["acme_admin"])
    invitation = Invitation.objects.get(email="maybe@acme.example")
    page = admin.get("/team/").content.decode()
    assert f'action="/team/invitations/{invitation.pk}/cancel/"' in page and "Cancel invitation" in page

    response = admin.post(f"/team/invitations/{invitation.pk}/cancel/", follow=True)
    page = response.content.decode()
    assert "The invitation to maybe@acme.example is cancelled: its link no longer works and its seat is free." in page
    assert "maybe@acme.example ·" not in page and not Invitation.objects.filter(pk=invitation.pk).exists()
    assert http(ACME_HOST).get(path).status_code == 404
    assert admin.post(f"/team/invitations/{invitation.pk}/cancel/").status_code == 404  # nothing left to cancel


def test_cancelling_an_invitation_frees_its_seat(users, acme):
    from shared_apps.billing.seats import seat_use
    from tests.shared_apps.billing.conftest import plan_make, subscribe

    subscribe(acme, plan_make("three", seats=3))  # admin + staff + one invitation
    invitation = invitation_create(client=acme, email="first@acme.example", role="staff")
    admin = http(ACME_HOST, users["acme_admin"])
    response = admin.post("/team/", {"invite-email": "second@acme.example", "invite-role": "staff"})
    assert response.status_code == 400 and "2 active and 1 invited already" in response.content.decode()
    admin.post(f"/team/invitations/{invitation.pk}/cancel/")
    assert seat_use(acme).used == 2
    assert admin.post("/team/", {"invite-email": "second@acme.example", "invite-role": "staff"}).status_code == 302


@pytest.mark.parametrize(("role", "status"), [("acme_staff", 403), ("engineer_all", 403), ("globex_admin", 404)])
def test_only_the_sites_client_admins_cancel_its_invitations(users, acme, role, status):
    invitation = invitation_create(client=acme, email="keep@acme.example", role="staff")
    assert http(ACME_HOST, users[role]).post(f"/team/invitations/{invitation.pk}/cancel/").status_code == status
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_an_invitation_of_another_site_cannot_be_cancelled(users, globex):
    invitation = invitation_create(client=globex, email="keep@globex.example", role="staff")
    assert http(ACME_HOST, users["acme_admin"]).post(f"/team/invitations/{invitation.pk}/cancel/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_cancel_needs_a_post_with_the_csrf_token(users, acme):
    from django.test import Client as HttpClient

    invitation = invitation_create(client=acme, email="keep@acme.example", role="staff")
    admin = HttpClient(HTTP_HOST=ACME_HOST, enforce_csrf_checks=True)
    admin.force_login(users["acme_admin"])
    assert admin.get(f"/team/invitations/{invitation.pk}/cancel/").status_code == 405
    assert admin.post(f"/team/invitations/{invitation.pk}/cancel/").status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_reinviting_says_the_earlier_link_no_longer_works(users, django_capture_on_commit_callbacks):
    old_path = _invite(users, "twice@acme.example", django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = http(ACME_HOST, users["acme_admin"]).post(
            "/team/", {"invite-email": "twice@acme.example", "invite-role": "admin"}, follow=True
        )
    assert (
        "A new invitation link was sent to twice@acme.example; the earlier one no longer works."
        in response.content.decode()
    )
    [message] = mail.outbox
    new_path = re.search(r"http://acme\.tenantdesk\.localhost(/invite/\S+/)", message.body).group(1)
    assert new_path != old_path
    visitor = http(ACME_HOST)
    assert visitor.get(old_path).status_code == 404
    assert visitor.post(old_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 404
    assert not User.objects.filter(email="twice@acme.example").exists()
    response = visitor.post(new_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert Membership.objects.get(user__email="twice@acme.example").role == "admin"


def test_reinviting_after_expiry_is_an_ordinary_invitation(users, django_capture_on_commit_callbacks):
    _invite(users, "late@acme.example", django_capture_on_commit_callbacks)
    Invitation.objects.filter(email="late@acme.example").update(expires_at=timezone.now() - timedelta(minutes=1))
    response = http(ACME_HOST, users["acme_admin"]).post(
        "/team/", {"invite-email": "late@acme.example", "invite-role": "staff"}, follow=True
    )
    assert "Invitation sent to late@acme.example." in response.content.decode()


# --- a used link ---------------------------------------------------------------------------------


def test_reopening_a_used_link_as_that_member_says_they_are_in(users, django_capture_on_commit_callbacks):
    path = _invite(users, "joined@acme.example", django_capture_on_commit_callbacks)
    member = http(ACME_HOST)
    member.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    response = member.get(path)
    page = response.content.decode()
    assert response.status_code == 200
    assert "You are already a member of Acme Corp" in page and 'href="/">Go to Acme Corp</a>' in page
    assert "invite you again" not in page


def test_a_used_link_is_expired_for_anyone_else(users, acme, django_capture_on_commit_callbacks):
    path = _invite(users, "joined@acme.example", django_capture_on_commit_callbacks)
    http(ACME_HOST).post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    for client in (http(ACME_HOST), http(ACME_HOST, users["acme_staff"])):
        response = client.get(path)
        assert response.status_code == 410 and "invite you again" in response.content.decode()
    # ...and for the invited person once they were taken off the site.
    joined = User.objects.get(email="joined@acme.example")
    acme.memberships.filter(user=joined).update(is_active=False)
    response = http(ACME_HOST, joined).get(path)
    assert response.status_code == 410 and "invite you again" in response.content.decode()


def test_reactivating_beyond_the_seats_says_why(users, acme):
    from tests.shared_apps.billing.conftest import plan_make, subscribe

    subscribe(acme, plan_make("tiny", seats=2))
    staff = acme.memberships.get(user=users["acme_staff"])
    admin = http(ACME_HOST, users["acme_admin"])
    admin.post(f"/team/{staff.pk}/deactivate/")
    invitation_create(client=acme, email="replacement@acme.example", role="staff")
    response = admin.post(f"/team/{staff.pk}/reactivate/", follow=True)
    assert response.status_code == 200
    assert "The Tiny plan allows 2 users on Acme Corp: 1 active and 1 invited already." in response.content.decode()
    assert not Membership.objects.get(pk=staff.pk).is_active
