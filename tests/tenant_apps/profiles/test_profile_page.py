"""The profile page: name, phone (validated, stored E.164), job title, timezone (every time on
the site shown in it), for each role; strangers never reach it."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenant_apps.profiles.models import Profile
from tenant_apps.profiles.phone import phone_display, phone_normalize
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, GLOBEX_HOST, http


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 (20) 7946-0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+49 30 901820", "+4930901820"),
        ("  ", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, e164):
    assert phone_normalize(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("020 7946 0958", "international format"),  # no country code: ambiguous
        ("+44 20 7946", "not a valid phone number"),
        ("+1 555 0000 00000 000", "not a valid phone number"),
        ("+999 1234567", "no country with this code"),
        ("call me maybe", "international format"),
        ("+abc", "does not read as a phone number"),
    ],
)
def test_invalid_phone_numbers_are_refused_with_the_reason(raw, message):
    with pytest.raises(ValidationError) as refused:
        phone_normalize(raw)
    assert message in refused.value.messages[0]


def test_phone_display_is_international():
    assert phone_display("+442079460958") == "+44 20 7946 0958"


@pytest.mark.parametrize("who", ["acme_staff", "acme_admin", "engineer_acme", "engineer_all"])
def test_each_role_edits_their_own_profile(who, users, acme):
    user = users[who]
    client = http(ACME_HOST, user)
    page = client.get("/profile/").content.decode()
    assert "Your profile" in page and "Two-factor authentication" in page and "English only" in page
    response = client.post(
        "/profile/",
        {
            "full_name": "  Sam   Sample ",
            "job_title": "Office manager",
            "phone": "+44 20 7946 0958",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 302
    connection.set_tenant(acme)
    profile = Profile.objects.get(user=user)
    assert (profile.phone, profile.job_title, profile.timezone) == ("+442079460958", "Office manager", "Europe/Paris")
    user.refresh_from_db()
    assert user.full_name == "Sam Sample"
    connection.set_schema_to_public()
    page = client.get("/profile/").content.decode()
    assert 'value="+44 20 7946 0958"' in page and '<option value="Europe/Paris" selected>' in page
    assert "Sam Sample" in page.split("</nav>")[0]  # the name in the menu, on every page


def test_bad_values_keep_what_was_typed_and_say_why(users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    response = client.post(
        "/profile/", {"full_name": "Kim", "job_title": "x", "phone": "020 7946 0958", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Write the number in international format" in page
    assert "Select a valid choice" in page  # the timezone is not one of the menu's
    assert 'value="020 7946 0958"' in page
    connection.set_tenant(acme)
    assert not Profile.objects.filter(user=users["acme_staff"], phone__gt="").exists()


def test_profiles_are_per_site_and_strangers_get_404(users, acme):
    assert http(GLOBEX_HOST, users["acme_staff"]).get("/profile/").status_code == 404
    http(ACME_HOST, users["engineer_all"]).post(
        "/profile/", {"full_name": "Eng", "job_title": "Engineer", "phone": "", "timezone": "Asia/Tokyo"}
    )
    connection.set_tenant(acme)
    assert Profile.objects.get(user=users["engineer_all"]).timezone == "Asia/Tokyo"


def _created_at_shown(user, number):
    page = http(ACME_HOST, user).get(f"/tickets/{number}/").content.decode()
    return re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page).groups()


def test_every_time_is_shown_in_the_viewers_timezone(users, acme):
    connection.set_tenant(acme)
    ticket = services.ticket_create(requester=users["acme_staff"], subject="Clock", description="<p>x</p>")
    utc = ticket.created_at
    connection.set_schema_to_public()
    iso, shown = _created_at_shown(users["acme_staff"], ticket.number)
    assert iso.endswith("+00:00") and shown == f"{utc:%Y-%m-%d %H:%M}"  # the site default: UTC
    http(ACME_HOST, users["acme_staff"]).post(
        "/profile/", {"full_name": "", "job_title": "", "phone": "", "timezone": "Asia/Kathmandu"}
    )  # UTC+05:45, never a whole hour
    iso, shown = _created_at_shown(users["acme_staff"], ticket.number)
    from datetime import timedelta

    assert iso.endswith("+05:45") and shown == f"{utc + timedelta(hours=5, minutes=45):%Y-%m-%d %H:%M}"
    iso, _ = _created_at_shown(users["engineer_acme"], ticket.number)  # others keep their own
    assert iso.endswith("+00:00")


def test_profile_page_queries_are_few_and_warm_pages_pay_nothing_for_the_timezone(users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    client.post("/profile/", {"full_name": "", "job_title": "", "phone": "", "timezone": "Europe/Oslo"})
    client.get("/profile/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/profile/").status_code == 200
    # search_path, session, user, role (engineer check + membership), the profile for the form;
    # the timezone and the avatar come from the cached person card
    assert len(captured.captured_queries) == 6, [q["sql"] for q in captured.captured_queries]
    assert len([q for q in captured.captured_queries if "profiles_profile" in q["sql"]]) == 1  # the form's
