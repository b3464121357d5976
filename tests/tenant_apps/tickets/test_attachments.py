"""Attachments: limits, types by content, storage per site, downloads through the ticket's access check."""

import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from tenant_apps.tickets import services
from tenant_apps.tickets.models import Attachment, Ticket
from tests.conftest import ACME_HOST, http


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _new_ticket(client, files, subject="Screen flickers"):
    return client.post("/tickets/new/", {"subject": subject, "description": "See attached", "attachments": files})


def test_requester_attaches_files_and_only_people_who_see_the_ticket_can_download(users, acme, colleague_user):
    client = http(ACME_HOST, users["acme_staff"])
    response = _new_ticket(client, [upload("screen.png", png_bytes()), upload("log.txt", b"error 42\n")])
    assert response.status_code == 302
    connection.set_tenant(acme)
    ticket = Ticket.objects.get(subject="Screen flickers")
    image, text = ticket.attachments.order_by("original_name").reverse()
    assert (image.content_type, text.content_type) == ("image/png", "text/plain")
    assert image.file.name.startswith(f"sites/{acme.schema_name}/attachments/{ticket.pk}/")
    connection.set_schema_to_public()

    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "screen.png" in page and "log.txt" in page
    shown = client.get(f"/tickets/{ticket.number}/attachments/{image.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert "attachment" not in shown.get("Content-Disposition", "")
    downloaded = client.get(f"/tickets/{ticket.number}/attachments/{text.pk}/")
    assert downloaded["Content-Disposition"].startswith("attachment")
    assert b"".join(downloaded.streaming_content) == b"error 42\n"

    for user in (colleague_user, users["globex_staff"], users["outsider"]):
        assert http(ACME_HOST, user).get(f"/tickets/{ticket.number}/attachments/{image.pk}/").status_code == 404
    assert (
        http(ACME_HOST, users["engineer_acme"]).get(f"/tickets/{ticket.number}/attachments/{image.pk}/").status_code
        == 200
    )
    # The attachment's id under another ticket number does not work either.
    assert client.get(f"/tickets/{ticket.number + 1}/attachments/{image.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("invoice.png", b"MZ\x90\x00" + b"\x00" * 200)], "invoice.png is not a file type we accept"),
        ([("page.png", b"<html><script>alert(1)</script></html>\x00")], "page.png is not a file type we accept"),
        ([("empty.txt", b"")], "The submitted file is empty."),
        ([(f"f{n}.txt", b"x") for n in range(6)], "Attach at most 5 files at once (6 chosen)."),
    ],
)
def test_bad_files_are_refused_and_the_text_is_kept(users, files, message):
    client = http(ACME_HOST, users["acme_staff"])
    response = _new_ticket(client, [upload(name, content) for name, content in files], subject="Keep me")
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert message in page
    assert 'value="Keep me"' in page


@override_settings(ATTACHMENT_MAX_BYTES=2048)
def test_oversize_file_is_refused_with_the_limit(users, acme):
    client = http(ACME_HOST, users["acme_staff"])
    response = _new_ticket(client, [upload("big.pdf", PDF + b"0" * 5000)])
    assert "big.pdf is 4.9\xa0KB; the limit is 2.0\xa0KB." in response.content.decode()
    connection.set_tenant(acme)
    assert not Ticket.objects.filter(subject="Screen flickers").exists()


def test_failed_creation_leaves_no_file_behind(users, acme, monkeypatch):
    """The file is stored before its row; if anything fails after that, the file goes too."""

    def explode(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Attachment, "save", explode)
    connection.set_tenant(acme)
    before = _stored_files(acme)
    with pytest.raises(RuntimeError, match="boom"):
        services.ticket_create(
            requester=users["acme_staff"], subject="x", description="y", attachments=[upload("a.pdf", PDF)]
        )
    assert _stored_files(acme) == before
    assert not Ticket.objects.filter(subject="x").exists()


def _stored_files(site) -> set[str]:
    folder = f"sites/{site.schema_name}/attachments"
    if not default_storage.exists(folder):
        return set()
    found = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        dirs, files = default_storage.listdir(current)
        found |= {f"{current}/{name}" for name in files}
        stack += [f"{current}/{name}" for name in dirs]
    return found


def test_internal_note_attachments_stay_with_engineers(users, acme):
    connection.set_tenant(acme)
    ticket = services.ticket_create(requester=users["acme_staff"], subject="VPN", description="x")
    note = services.ticket_reply(
        ticket=ticket, actor=users["engineer_acme"], role="engineer", body="config", internal=True,
        attachments=[upload("fw.txt", b"secret config")],
    )  # fmt: skip
    attachment = note.attachments.get()
    connection.set_schema_to_public()
    path = f"/tickets/{ticket.number}/attachments/{attachment.pk}/"
    assert http(ACME_HOST, users["acme_staff"]).get(path).status_code == 404
    assert http(ACME_HOST, users["acme_admin"]).get(path).status_code == 404
    assert http(ACME_HOST, users["engineer_acme"]).get(path).status_code == 200


@pytest.fixture
def colleague_user(acme):
    from shared_apps.tenancy.services import membership_grant
    from tests.factories import user_create

    user = user_create("colleague@acme.example")
    membership_grant(user=user, client=acme, role="staff")
    return user


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
