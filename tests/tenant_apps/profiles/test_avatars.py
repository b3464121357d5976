"""Avatar uploads: only real pictures, re-encoded as a clean square thumbnail, refused files
leave nothing behind, and the picture is served only to people of the site."""

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from PIL import Image

from tenant_apps.profiles import avatars
from tenant_apps.profiles.models import Profile
from tenant_apps.profiles.services import avatar_remove, avatar_set
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.tenant_apps.profiles.images import (
    HTML,
    PDF,
    SVG,
    TRAILER,
    jpeg_with_gps_and_rotation,
    picture,
    png_declaring,
    upload,
)


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _files(root) -> list[str]:
    return [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]


def _post(user, data, name="me.png", content_type="image/png"):
    return http(ACME_HOST, user).post("/profile/avatar/", {"avatar": upload(data, name, content_type)})


HOSTILE = [
    pytest.param(png_declaring(100_000, 100_000), "decompression bomb", id="bomb-10-gigapixels"),
    pytest.param(png_declaring(10_000, 10_000), "decompression bomb", id="bomb-100-megapixels"),
    pytest.param(png_declaring(5_000, 3_000), "5,000 x 3,000 pixels; at most 4,000 x 4,000", id="too-many-pixels"),
    pytest.param(SVG, "SVG files are not accepted", id="svg-named-png"),
    pytest.param(HTML, "web page (HTML), not a picture", id="html-named-png"),
    pytest.param(PDF, "not a picture we can read", id="pdf-named-png"),
    pytest.param(picture("PNG")[:-40], "damaged or incomplete", id="truncated-png"),
    pytest.param(picture("JPEG", size=(400, 400))[:600], "damaged or incomplete", id="truncated-jpeg"),
    pytest.param(picture("BMP"), "This is a BMP image; upload a JPEG, PNG, GIF or WebP", id="bmp"),
    pytest.param(b"", "The submitted file is empty", id="empty"),  # Django says so first
]


@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_hostile_files_are_refused_with_a_clear_message_and_nothing_saved(data, message, users, acme, _media):
    response = _post(users["acme_staff"], data)
    assert response.status_code in (400,), response.status_code
    page = response.content.decode()
    assert message in page, page[page.find("invalid-feedback") - 200 : page.find("invalid-feedback") + 400]
    assert _files(_media) == []
    connection.set_tenant(acme)
    assert not Profile.objects.filter(user=users["acme_staff"]).exclude(avatar="").exists()


def test_a_file_over_5_mb_is_refused_before_it_is_opened(users, acme, _media):
    data = picture("PNG") + b"\x00" * (6 * 1024 * 1024)
    response = _post(users["acme_staff"], data)
    assert response.status_code == 400
    assert "The file is 6.0 MB; an avatar may be at most 5 MB." in response.content.decode()
    assert _files(_media) == []


def test_the_service_refuses_before_storing_anything(users, acme, _media):
    connection.set_tenant(acme)
    with pytest.raises(ValidationError) as refused:
        avatar_set(user=users["acme_staff"], upload=upload(SVG))
    assert "SVG" in refused.value.message_dict["avatar"][0]
    assert _files(_media) == []


def test_a_picture_is_re_encoded_square_without_exif_or_appended_data(users, acme, _media):
    data = jpeg_with_gps_and_rotation() + TRAILER
    assert b"CAMERA-SERIAL" in data and TRAILER in data
    response = _post(users["acme_staff"], data, name="holiday.jpg", content_type="image/jpeg")
    assert response.status_code == 302
    connection.set_tenant(acme)
    profile = Profile.objects.get(user=users["acme_staff"])
    stored = profile.avatar.open("rb").read()
    assert b"CAMERA-SERIAL" not in stored and b"APPENDED-SECRET" not in stored and b"php" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "WEBP" and image.size == (256, 256)
    assert "exif" not in image.info and len(image.getexif()) == 0
    # The EXIF orientation was applied before it was dropped: the left (red) half is now on top.
    red, blue = image.convert("RGB").getpixel((128, 30)), image.convert("RGB").getpixel((128, 226))
    assert red[0] > 200 and red[2] < 60, red
    assert blue[2] > 200 and blue[0] < 60, blue
    assert profile.avatar.name.startswith(f"sites/{acme.schema_name}/avatars/{users['acme_staff'].pk}/")
    assert profile.avatar.name.endswith(".webp")


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_other_accepted_formats(fmt, users, acme, _media):
    assert _post(users["acme_staff"], picture(fmt, size=(40, 90))).status_code == 302
    connection.set_tenant(acme)
    assert Image.open(Profile.objects.get(user=users["acme_staff"]).avatar.open("rb")).size == (256, 256)


def test_replacing_and_removing_delete_the_old_file(users, acme, _media, django_capture_on_commit_callbacks):
    connection.set_tenant(acme)
    staff = users["acme_staff"]
    with django_capture_on_commit_callbacks(execute=True):
        first = avatar_set(user=staff, upload=upload(picture())).avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        second = avatar_set(user=staff, upload=upload(picture("JPEG"))).avatar.name
    assert first != second
    assert [os.path.relpath(f, _media) for f in _files(_media)] == [second]
    with django_capture_on_commit_callbacks(execute=True):
        avatar_remove(user=staff)
    assert _files(_media) == []
    assert Profile.objects.get(user=staff).avatar == ""


def test_thumbnail_is_a_fresh_encoding():
    data = avatars.avatar_thumbnail(upload(picture("PNG") + TRAILER))
    assert TRAILER not in data and data[:4] == b"RIFF" and data[8:12] == b"WEBP"


@pytest.mark.parametrize(
    ("viewer", "host", "status"),
    [
        ("acme_staff", ACME_HOST, 200),  # their own
        ("acme_admin", ACME_HOST, 200),  # a colleague
        ("engineer_acme", ACME_HOST, 200),  # engineers covering the site
        ("engineer_all", ACME_HOST, 200),
        ("globex_staff", ACME_HOST, 404),  # people of another site
        ("globex_admin", ACME_HOST, 404),
        ("outsider", ACME_HOST, 404),
        ("platform", ACME_HOST, 404),
        ("engineer_all", GLOBEX_HOST, 404),  # the picture belongs to acme only
        ("globex_staff", GLOBEX_HOST, 404),
    ],
)
def test_avatar_is_served_only_to_people_of_the_site(viewer, host, status, users, acme, _media):
    assert _post(users["acme_staff"], picture()).status_code == 302
    response = http(host, users[viewer]).get(f"/people/{users['acme_staff'].pk}/avatar/")
    assert response.status_code == status, viewer
    if status == 200:
        assert response["Content-Type"] == "image/webp"
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["Cache-Control"].startswith("private")
        assert b"".join(response.streaming_content)[8:12] == b"WEBP"


def test_anonymous_visitors_get_the_login_page_not_the_picture(users, acme, _media):
    _post(users["acme_staff"], picture())
    response = http(ACME_HOST).get(f"/people/{users['acme_staff'].pk}/avatar/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_avatar_shows_in_the_nav_and_the_ticket_thread_with_initials_otherwise(users, acme, _media):
    from tenant_apps.tickets import services

    staff, engineer = users["acme_staff"], users["engineer_acme"]
    _post(staff, picture())
    connection.set_tenant(acme)
    ticket = services.ticket_create(requester=staff, subject="Mouse", description="<p>Broken</p>")
    services.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>On my way</p>")
    connection.set_schema_to_public()
    page = http(ACME_HOST, engineer).get(f"/tickets/{ticket.number}/").content.decode()
    src = f'src="/people/{staff.pk}/avatar/?v=1"'
    assert page.count(src) == 1  # the requester, in the thread
    initials = engineer.email[0].upper()
    assert f'aria-hidden="true">{initials}</span>' in page  # the engineer: initials (nav + reply)
    nav = http(ACME_HOST, staff).get("/").content.decode()
    assert src in nav.split("</nav>")[0]


def test_a_removed_picture_gives_way_to_initials_not_a_picture_that_404s(users, acme, _media):
    staff = users["acme_staff"]
    client = http(ACME_HOST, staff)
    _post(staff, picture())
    assert f'src="/people/{staff.pk}/avatar/?v=1"' in client.get("/").content.decode()
    assert client.post("/profile/avatar/remove/").status_code == 302
    nav = client.get("/").content.decode().split("</nav>")[0]
    assert f"/people/{staff.pk}/avatar/" not in nav
    assert f'aria-hidden="true">{staff.email[0].upper()}</span>' in nav
    assert client.get(f"/people/{staff.pk}/avatar/").status_code == 404


def test_the_suspended_page_still_shows_the_users_picture(users, acme, _media):
    from shared_apps.tenancy.services import site_suspend

    staff = users["acme_staff"]
    _post(staff, picture())
    site_suspend(client=acme, by=None)
    client = http(ACME_HOST, staff)
    page = client.get("/tickets/")
    assert page.status_code == 403
    assert f'src="/people/{staff.pk}/avatar/?v=1"' in page.content.decode()  # in its user menu
    assert client.get(f"/people/{staff.pk}/avatar/").status_code == 200
    assert http(ACME_HOST, users["outsider"]).get(f"/people/{staff.pk}/avatar/").status_code == 404
