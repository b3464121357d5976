"""A small knowledge base on acme, with one of each kind of article, and global articles.

Words that must never reach a client user are in the engineers-only and draft articles'
bodies (SECRET_WORDS), so a test can look for them in any page or answer.
"""

from types import SimpleNamespace

import pytest
from django.db import connection

from shared_apps.publishing import services as publishing
from tenant_apps.knowledge import services
from tenant_apps.tickets.models import Category

SECRET_WORDS = ("firewallsecret", "draftsecret", "globalsecret", "globaldraftsecret")
# ...and their titles.
SECRET_TITLES = (
    "VPN firewall lease runbook",
    "VPN split tunnel notes",
    "VPN concentrator restart",
    "VPN client upgrade",
)


def _in(site):
    connection.set_tenant(site)


@pytest.fixture
def kb(acme, users):
    """Articles on acme (as ben the engineer and the client admin) and global ones."""
    engineer, admin = users["engineer_acme"], users["acme_admin"]
    _in(acme)
    network = Category.objects.get(slug="network")
    art = SimpleNamespace()
    art.vpn = services.article_create(
        actor=engineer, role="engineer", title="Reconnect the VPN when it drops",
        body="<p>Open the VPN client, choose <strong>Disconnect</strong>, wait ten seconds and connect again.</p>",
        category=network, visibility="requesters", status="published",
    )  # fmt: skip
    art.firewall = services.article_create(
        actor=engineer, role="engineer", title="VPN firewall lease runbook",
        body="<p>firewallsecret: raise the DHCP lease on the VPN firewall to 24 hours.</p>",
        category=network, visibility="engineers", status="published",
    )  # fmt: skip
    art.draft = services.article_create(
        actor=engineer, role="engineer", title="VPN split tunnel notes",
        body="<p>draftsecret: split tunnelling for the VPN, not finished.</p>",
        category=network, visibility="requesters", status="draft",
    )  # fmt: skip
    art.printer = services.article_create(
        actor=admin, role="admin", title="Book the meeting room printer",
        body="<p>Printers on floor 2 are booked at reception.</p>", status="published",
    )  # fmt: skip
    connection.set_schema_to_public()
    art.mfa = publishing.global_article_create(
        actor=users["platform"], role="platform", title="Set up two-factor authentication",
        body="<p>Install an authenticator app and scan the code. Works with the VPN too.</p>",
        category_slug="security", visibility="requesters", status="published",
    )  # fmt: skip
    art.global_runbook = publishing.global_article_create(
        actor=users["engineer_all"], role="engineer", title="VPN concentrator restart (all clients)",
        body="<p>globalsecret: restart the VPN concentrator from the console.</p>",
        category_slug="network", visibility="engineers", status="published",
    )  # fmt: skip
    art.global_draft = publishing.global_article_create(
        actor=users["engineer_all"], role="engineer", title="VPN client upgrade plan",
        body="<p>globaldraftsecret: the VPN upgrade, not ready.</p>",
        category_slug="network", visibility="requesters", status="draft",
    )  # fmt: skip
    return art


def assert_no_secrets(text: str) -> None:
    """Nothing of an engineers-only article or a draft (site or global) is in `text`."""
    for word in (*SECRET_WORDS, *SECRET_TITLES):
        assert word not in text, word
