"""Exporting a site from the platform console: queue, list, download (streamed), and the offer on
the delete page. Only platform admins see any of it; everyone else gets 404."""

import io
import json
import zipfile

import pytest
from django.test import override_settings

from tests.conftest import ROOT, http


@pytest.fixture
def export_root(tmp_path):
    with override_settings(SITE_EXPORT_ROOT=tmp_path):
        yield tmp_path


def test_platform_admin_exports_a_site_and_downloads_the_archive(
    users, acme, export_root, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = http(ROOT, users["platform"])
    empty = client.get("/console/sites/acme/export/")
    assert "No export of this site yet." in empty.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/console/sites/acme/export/")
    assert response.status_code == 302 and response["Location"] == "/console/sites/acme/export/"

    # session, user, role, site lookup: the folder listing costs no query
    with django_assert_max_num_queries(6):
        page = client.get("/console/sites/acme/export/")
    exports = page.context["exports"]
    assert len(exports) == 1 and exports[0].ready and exports[0].name.startswith("acme-")
    assert "Download" in page.content.decode()

    download = client.get(f"/console/sites/acme/export/{exports[0].name}")
    assert download.status_code == 200 and download.streaming
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == f'attachment; filename="{exports[0].name}"'
    body = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["site"]["subdomain"] == "acme"
    assert not list(export_root.rglob("*.part"))


@pytest.mark.parametrize("role", ["engineer_all", "acme_admin", "acme_staff", "outsider"])
def test_nobody_but_platform_admins_sees_or_downloads_exports(users, acme, export_root, role, tmp_path):
    folder = export_root / acme.schema_name
    folder.mkdir()
    (folder / "acme-20260101-000000.zip").write_bytes(b"PK")
    client = http(ROOT, users[role])
    assert client.get("/console/sites/acme/export/").status_code == 404
    assert client.post("/console/sites/acme/export/").status_code == 404
    assert client.get("/console/sites/acme/export/acme-20260101-000000.zip").status_code == 404
    assert http(ROOT, users["platform"]).get("/console/sites/acme/export/acme-20260101-000000.zip").status_code == 200


def test_odd_names_and_other_sites_archives_are_not_served(users, acme, globex, export_root):
    (export_root / globex.schema_name).mkdir()
    (export_root / globex.schema_name / "globex-20260101-000000.zip").write_bytes(b"PK")
    (export_root / "secret.zip").write_bytes(b"PK")
    client = http(ROOT, users["platform"])
    for name in ("globex-20260101-000000.zip", "..%2Fsecret.zip", "secret.zip", "acme-x.zip"):
        assert client.get(f"/console/sites/acme/export/{name}").status_code == 404, name


def test_delete_page_offers_the_export_first(users, acme, export_root, django_capture_on_commit_callbacks):
    client = http(ROOT, users["platform"])
    page = client.get("/console/sites/acme/delete/").content.decode()
    assert "This site has never been exported." in page and 'href="/console/sites/acme/export/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/console/sites/acme/export/")
    page = client.get("/console/sites/acme/delete/").content.decode()
    assert "Last export:" in page and "/console/sites/acme/export/acme-" in page
