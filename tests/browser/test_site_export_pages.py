"""The console's export page and the delete page's offer, in a real browser at both widths."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from shared_apps.tenancy.models import Client
from tests.browser.test_login_once import login_at_root
from tests.conftest import CAST
from tests.processes import committed

pytestmark = pytest.mark.browser


def test_platform_admin_exports_then_sees_it_offered_on_the_delete_page(page, phone, shoot, live_url):
    schema = committed(lambda: Client.objects.get(subdomain="acme").schema_name)
    folder = Path(settings.SITE_EXPORT_ROOT) / schema
    existed = folder.exists()
    try:
        login_at_root(page, live_url, CAST["platform"])
        page.goto(live_url.root_url("/console/"))
        page.get_by_role("row", name="Acme Corp").get_by_role("link", name="Export").click()
        expect(page.locator("h1")).to_have_text("Export Acme Corp")
        page.get_by_role("button", name="Create a new export").click()  # no broker: written in-process
        expect(page.get_by_text("Export of Acme Corp started.")).to_be_visible()
        download_link = page.get_by_role("link", name="Download").first
        expect(download_link).to_be_visible()
        shoot(page, "console-site-export-desktop")
        with page.expect_download() as download:
            download_link.click()
        assert download.value.suggested_filename.startswith("acme-")
        small = phone(page)
        small.goto(live_url.root_url("/console/sites/acme/export/"))
        expect(small.get_by_role("link", name="Download").first).to_be_visible()
        shoot(small, "console-site-export-phone")

        page.goto(live_url.root_url("/console/sites/acme/delete/"))
        expect(page.get_by_text("Last export:")).to_be_visible()
        shoot(page, "console-site-delete-desktop")
        small.goto(live_url.root_url("/console/sites/acme/delete/"))
        shoot(small, "console-site-delete-phone")
    finally:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
