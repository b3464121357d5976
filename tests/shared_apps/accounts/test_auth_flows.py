"""One login for every site, and allauth's flows working on client sites: password reset,
email verification (through self-signup), password change and TOTP two-factor login."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal import auth as totp
from django.core import mail

from shared_apps.accounts.models import User
from shared_apps.tenancy.models import Membership
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _login(client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


def _link(body: str, host: str) -> str:
    match = re.search(rf"http://{re.escape(host)}(/\S+)", body)
    assert match, body
    return match.group(1)


def test_log_in_once_at_the_root_and_use_every_site_you_may(users, password):
    client = http(ROOT)
    response = _login(client, users["acme_admin"].email, password)
    assert response.status_code == 302
    assert client.cookies["sessionid"]["domain"] == ".tenantdesk.localhost"

    client.defaults["HTTP_HOST"] = ACME_HOST
    assert client.get("/").status_code == 200  # no second login
    client.defaults["HTTP_HOST"] = GLOBEX_HOST
    assert client.get("/").status_code == 404  # but only where they belong


def test_root_home_lists_the_sites_of_the_user(users):
    page = http(ROOT, users["engineer_acme"]).get("/").content.decode()
    assert "Acme Corp" in page and "Globex" not in page
    page = http(ROOT, users["engineer_all"]).get("/").content.decode()
    assert "Acme Corp" in page and "Globex" in page
    page = http(ROOT, users["outsider"]).get("/").content.decode()
    assert "not a member of any support site yet" in page


@pytest.mark.parametrize("host", [ROOT, ACME_HOST])
def test_log_out_from_the_user_menu_in_one_click(users, host):
    client = http(host, users["acme_admin"])
    page = client.get("/").content.decode()
    # A POST form in the menu: no "Are you sure?" page in between (a GET shows one).
    assert re.search(r'<form method="post" action="/accounts/logout/">', page)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused(users):
    response = _login(http(ACME_HOST), users["acme_staff"].email, "wrong-password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_password_reset_from_a_client_site_links_back_to_that_site(users, django_capture_on_commit_callbacks):
    client = http(ACME_HOST)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": users["acme_staff"].email})
    assert response.status_code == 302
    [email] = mail.outbox
    path = _link(email.body, ACME_HOST)
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(pk=users["acme_staff"].pk).check_password(NEW_PASSWORD)


def test_password_change(users, password):
    client = http(ACME_HOST)
    _login(client, users["acme_staff"].email, password)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=users["acme_staff"].pk).check_password(NEW_PASSWORD)


def test_totp_two_factor_login(users, password):
    client = http(ACME_HOST)
    _login(client, users["acme_staff"].email, password)
    # Turning on 2FA is a sensitive action: allauth asks for the password again first.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    assert client.post("/accounts/reauthenticate/", {"password": password}).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session[totp.SECRET_SESSION_KEY]
    code = totp.format_hotp_value(totp.hotp_value(secret, next(totp.yield_hotp_counters_from_time())))
    assert client.post("/accounts/2fa/totp/activate/", {"code": code}).status_code == 302

    client = http(ACME_HOST)
    response = _login(client, users["acme_staff"].email, password)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not logged in until the second factor
    assert client.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    # A fresh code: the 30-second window may have turned since activation.
    code = totp.format_hotp_value(totp.hotp_value(secret, next(totp.yield_hotp_counters_from_time())))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/").status_code == 200


def test_client_sites_are_invitation_only_by_default():
    response = http(ACME_HOST).get("/accounts/signup/")
    assert "Sign Up Closed" in response.content.decode()
    assert "Sign Up Closed" in http(ROOT).get("/accounts/signup/").content.decode()


def test_self_signup_for_listed_domains_verifies_the_email_and_joins_the_site(acme, django_capture_on_commit_callbacks):
    acme.allow_signup, acme.signup_domains = True, ["acme.example"]
    acme.save(update_fields=["allow_signup", "signup_domains"])
    client = http(ACME_HOST)

    response = client.post(
        "/accounts/signup/", {"email": "eve@evil.example", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert "Sign-up on this site is for @acme.example addresses" in response.content.decode()
    assert not User.objects.filter(email="eve@evil.example").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {"email": "new.hire@acme.example", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    assert response.status_code == 302
    user = User.objects.get(email="new.hire@acme.example")
    assert Membership.objects.get(user=user, client=acme).role == Membership.Role.STAFF
    assert not EmailAddress.objects.get(user=user).verified
    [email] = mail.outbox
    confirm_path = _link(email.body, ACME_HOST)
    assert client.post(confirm_path).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").status_code == 200
