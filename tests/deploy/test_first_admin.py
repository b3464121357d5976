"""docs/deploy.md's first platform admin, as written there: `createsuperuser`, then log in on the
root domain; allauth asks to confirm the email address first (verification is mandatory), and
after following the link the console is open."""

import re

from django.core import mail
from django.core.management import call_command

from tests.conftest import ROOT, http

EMAIL = "ops@yourco.test"
PASSWORD = "a-long-first-admin-passphrase"


def test_first_platform_admin_from_the_command_line(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", "--email", EMAIL, verbosity=0)

    browser = http(ROOT)
    login = browser.post("/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == "/accounts/confirm-email/"
    [message] = mail.outbox
    assert message.to == [EMAIL]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)

    assert browser.post(link).status_code == 302
    assert browser.get("/console/").status_code == 200
