"""Settings come from the environment; bad values stop start-up with a message naming them, and
production settings pass Django's deployment checks."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from saas.env import email_settings, env_bool, env_int

PRODUCTION_ENV = {
    "DEBUG": "0",
    "TESTING": "0",
    "SECRET_KEY": "x7Kq9vR2mW4pL8nZ3tY6bH1jF5dS0aG-production-like-key-with-enough-entropy",
    "ROOT_DOMAIN": "helpdesk.example.com",
    "SITE_SCHEME": "https",
}


@pytest.mark.parametrize("raw", ["1", "true", "YES", "on"])
def test_env_bool_true(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is True


def test_env_bool_rejects_nonsense_naming_the_variable(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG")


def test_env_int_rejects_nonsense_and_out_of_range(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM='ten' is not an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "-5")
    with pytest.raises(ImproperlyConfigured, match="X_NUM=-5 must be at least 0"):
        env_int("X_NUM", 1, minimum=0)


def test_email_url():
    smtp = email_settings("smtp://mailer:p%40ss@smtp.example.com:2525")
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_HOST_PASSWORD"]) == ("smtp.example.com", 2525, "p@ss")
    assert smtp["EMAIL_USE_TLS"] and not smtp["EMAIL_USE_SSL"]
    assert email_settings("smtps://smtp.example.com")["EMAIL_PORT"] == 465
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme 'http'"):
        email_settings("http://example.com")


def test_secure_defaults():
    assert settings.ALLOWED_HOSTS[:2] == ["tenantdesk.localhost", ".tenantdesk.localhost"]  # pytest adds testserver
    assert "*" not in settings.ALLOWED_HOSTS
    assert settings.SESSION_COOKIE_DOMAIN == ".tenantdesk.localhost"
    assert "django.contrib.sessions" not in settings.TENANT_APPS
    assert settings.CACHES["default"].get("KEY_FUNCTION") is None  # allauth rate limits stay global


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_value_stops_start_up_with_its_name():
    result = _manage("check", env={**PRODUCTION_ENV, "DB_CONN_MAX_AGE": "forever"})
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE='forever' is not an integer" in result.stderr


def test_debug_is_off_unless_asked_for():
    code = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    assert "DEBUG False" in _manage("shell", "-c", code, env={"TESTING": "0"}).stdout
    assert "DEBUG True" in _manage("shell", "-c", code, env={"TESTING": "0", "DEBUG": "1"}).stdout


SHOW_SETTINGS = """
from django.conf import settings as s
db = s.DATABASES["default"]
print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.USE_X_FORWARDED_HOST)
print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)
print(db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"], s.LOG_FORMAT)
print(s.CONTENT_SECURITY_POLICY["DIRECTIVES"].get("report-uri"))
"""


def test_deploy_check_is_clean_with_every_production_option():
    env = {
        **PRODUCTION_ENV,
        "DB_CONN_MAX_AGE": "300",
        "SENTRY_DSN": "https://key@sentry.example.com/7",
        "CSP_REPORT_URI": "https://sentry.example.com/api/7/security/?sentry_key=key",
        "SECURE_HSTS_SECONDS": "63072000",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=env).stdout.splitlines()
    assert shown == [
        "('HTTP_X_FORWARDED_PROTO', 'https') True True False",
        "63072000 True True",
        "300 True json",
        "['https://sentry.example.com/api/7/security/?sentry_key=key']",
    ]


def test_hsts_preload_can_be_turned_off_and_the_check_stays_clean():
    env = {**PRODUCTION_ENV, "SECURE_HSTS_PRELOAD": "0"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=env).stdout.splitlines()
    assert shown[1] == "31536000 True False"
