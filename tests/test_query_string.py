"""A NUL character in a list page's filter is a 400, not a DataError from PostgreSQL (a 500)."""

import pytest

from tests.conftest import ACME_HOST, ROOT, http

PAGES = [
    (ACME_HOST, "acme_admin", "/tickets/", "q"),
    (ACME_HOST, "acme_admin", "/tickets/", "category"),
    (ACME_HOST, "acme_admin", "/kb/", "q"),
    (ROOT, "engineer_all", "/queue/", "site"),
    (ROOT, "engineer_all", "/kb/", "q"),
    (ROOT, "platform", "/console/billing/invoices/", "site"),
]


@pytest.mark.parametrize(("host", "who", "path", "key"), PAGES)
def test_nul_in_a_filter_is_a_bad_request(users, host, who, path, key):
    client = http(host, users[who])
    assert client.get(path, {key: "vpn"}).status_code == 200
    response = client.get(path, {key: "vpn\x00"})
    assert response.status_code == 400
    assert b"NUL" in response.content
