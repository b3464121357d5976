"""Seats: every way of adding a client user is refused beyond the plan's seats, naming the plan
and the limit, and creates nothing. Pending invitations hold a seat; engineers take none."""

import pytest
from django.core.exceptions import ValidationError

from shared_apps.tenancy.models import Invitation, Membership
from shared_apps.tenancy.services import (
    invitation_accept,
    invitation_create,
    membership_create_from_signup,
    membership_deactivate,
    membership_grant,
    membership_reactivate,
)
from tests.conftest import ACME_HOST, http
from tests.factories import PASSWORD, user_create
from tests.shared_apps.billing.conftest import plan_make, subscribe

FULL = "The Tiny plan allows 2 users on Acme Corp: 2 active already"


@pytest.fixture
def full_acme(acme):
    """acme has 2 active members (admin, staff) on a 2-seat plan."""
    subscribe(acme, plan_make("tiny", seats=2))
    return acme


def _nothing_created(site, email):
    assert not Invitation.objects.filter(client=site, email=email).exists()
    assert not Membership.objects.filter(client=site, user__email=email).exists()


def test_invitation_beyond_the_seats_is_refused(full_acme, users):
    with pytest.raises(ValidationError, match=FULL):
        invitation_create(client=full_acme, email="new@acme.example", role="staff", invited_by=users["acme_admin"])
    _nothing_created(full_acme, "new@acme.example")


def test_pending_invitations_take_a_seat(acme, users):
    subscribe(acme, plan_make("three", seats=3))
    invitation_create(client=acme, email="first@acme.example", role="staff")
    with pytest.raises(ValidationError, match=r"allows 3 users on Acme Corp: 2 active and 1 invited already"):
        invitation_create(client=acme, email="second@acme.example", role="staff")
    # Re-inviting the same person replaces their invitation: no extra seat.
    invitation_create(client=acme, email="first@acme.example", role="admin")
    assert Invitation.objects.filter(client=acme, email="first@acme.example").count() == 1


def test_accepting_a_held_invitation_always_works(acme):
    subscribe(acme, plan_make("three", seats=3))
    invitation = invitation_create(client=acme, email="held@acme.example", role="staff")
    membership = invitation_accept(invitation=invitation, password=PASSWORD)
    assert membership.is_active and Membership.objects.filter(client=acme, is_active=True).count() == 3


def test_reactivating_beyond_the_seats_is_refused(full_acme, users):
    staff = Membership.objects.get(client=full_acme, user=users["acme_staff"])
    membership_deactivate(membership=staff, by=users["acme_admin"])
    membership_grant(user=user_create("third@acme.example"), client=full_acme, role="staff")  # the freed seat
    with pytest.raises(ValidationError, match=FULL):
        membership_reactivate(membership=staff)
    staff.refresh_from_db()
    assert not staff.is_active


def test_granting_beyond_the_seats_is_refused_but_regranting_a_member_is_fine(full_acme, users):
    with pytest.raises(ValidationError, match=FULL):
        membership_grant(user=user_create("extra@acme.example"), client=full_acme, role="staff")
    _nothing_created(full_acme, "extra@acme.example")
    membership_grant(user=users["acme_staff"], client=full_acme, role="admin")  # already a member


def test_signup_beyond_the_seats_is_refused(full_acme):
    with pytest.raises(ValidationError, match=FULL):
        membership_create_from_signup(user=user_create("self@acme.example"), client=full_acme)
    _nothing_created(full_acme, "self@acme.example")


def test_signup_form_refuses_before_any_account_exists(full_acme):
    from shared_apps.accounts.models import User

    full_acme.allow_signup, full_acme.signup_domains = True, ["acme.example"]
    full_acme.save(update_fields=["allow_signup", "signup_domains"])
    response = http(ACME_HOST).post(
        "/accounts/signup/", {"email": "self@acme.example", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "has no free seat on its Tiny plan (2 users)" in response.content.decode()
    assert not User.objects.filter(email="self@acme.example").exists()


def test_team_page_shows_the_refusal(full_acme, users):
    response = http(ACME_HOST, users["acme_admin"]).post(
        "/team/", {"invite-email": "new@acme.example", "invite-role": "staff"}
    )
    assert response.status_code == 400  # the form again, with its error
    assert FULL in response.content.decode()
    _nothing_created(full_acme, "new@acme.example")


def test_engineers_take_no_seat(full_acme, users):
    # engineer_all covers acme without a membership; the 2 seats are the admin and the staff.
    from shared_apps.billing.seats import seat_use

    use = seat_use(full_acme)
    assert (use.active, use.invited, use.free) == (2, 0, 0)
