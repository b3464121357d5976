"""Production logs: one JSON object per line with the request id, the tenant schema and the user
id, one line per request; Sentry only when SENTRY_DSN is set, without personal data."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from saas.observability import JsonLinesFormatter, RequestContextFilter
from tests.conftest import ACME_HOST, http


@pytest.fixture
def json_lines():
    """What the production handler would print, from the root logger down, as parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    request_logger = logging.getLogger("tenantdesk.request")
    old_level = request_logger.level
    root.addHandler(handler)
    request_logger.setLevel(logging.INFO)

    def read() -> list[dict]:
        text = stream.getvalue()
        assert all(line.startswith("{") for line in text.splitlines()), text
        return [json.loads(line) for line in text.splitlines()]

    yield read
    root.removeHandler(handler)
    request_logger.setLevel(old_level)


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "tenantdesk.request"]


def test_request_line_has_request_id_schema_and_user(json_lines, acme, users):
    response = http(ACME_HOST, users["acme_staff"]).get("/tickets/", HTTP_X_REQUEST_ID="req-7f3a.1")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-7f3a.1"
    [line] = request_lines(json_lines())
    assert line["request_id"] == "req-7f3a.1"
    assert line["schema"] == acme.schema_name
    assert line["user_id"] == users["acme_staff"].pk
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/tickets/", 200, "INFO")
    assert line["message"] == "GET /tickets/ 200"
    assert isinstance(line["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_a_missing_or_forged_request_id_is_replaced(json_lines):
    client = http(ACME_HOST)
    generated = client.get("/accounts/login/")["X-Request-ID"]
    forged = client.get("/accounts/login/", HTTP_X_REQUEST_ID='x"}\n{"level": "CRITICAL')["X-Request-ID"]
    for request_id in (generated, forged):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    lines = request_lines(json_lines())
    assert [line["request_id"] for line in lines] == [generated, forged]
    assert [line["user_id"] for line in lines] == [None, None]  # anonymous


def test_lines_logged_inside_a_request_carry_its_context(json_lines, acme, users):
    response = http(ACME_HOST, users["acme_staff"]).get("/tickets/999999/", HTTP_X_REQUEST_ID="r-404")
    assert response.status_code == 404
    not_found = [line for line in json_lines() if line["logger"] == "django.request"]
    assert not_found, json_lines()
    assert (not_found[0]["request_id"], not_found[0]["schema"]) == ("r-404", acme.schema_name)
    assert not_found[0]["status_code"] == 404


def test_health_checks_are_not_logged_at_info(json_lines):
    assert http(ACME_HOST).get("/healthz").status_code == 200
    assert request_lines(json_lines()) == []


def test_outside_requests_the_schema_comes_from_the_connection(json_lines, acme):
    with tenant_context(acme):
        logging.getLogger("tenant_apps.tickets.tasks").warning("sla check")
    [line] = json_lines()
    assert (line["schema"], line["request_id"], line["user_id"]) == (acme.schema_name, None, None)


def test_a_traceback_stays_on_one_line(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("tenantdesk.test").exception("failed", extra={"ticket": 12})
    [line] = json_lines()
    assert line["message"] == "failed" and line["ticket"] == 12
    assert "ValueError: boom" in line["exc_info"]


def _manage_shell(code: str, env: dict) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SENTRY_DSN")}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={**base, "TESTING": "0", "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _manage_check(env: dict) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**base, "TESTING": "0", "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_log_json_lines_on_stdout():
    result = _manage_shell("import logging; logging.getLogger('tenantdesk.x').warning('hello %s', 'ops')", {})
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(raw) for raw in result.stdout.splitlines() if raw.startswith("{")]
    assert (line["message"], line["level"], line["logger"]) == ("hello ops", "WARNING", "tenantdesk.x")
    assert set(line) >= {"time", "request_id", "schema", "user_id"}
    bad = _manage_check({"LOG_FORMAT": "xml"})
    assert bad.returncode != 0 and "LOG_FORMAT='xml' is not one of json, text" in bad.stderr


class _SentryIntake(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        elif self.headers.get("Content-Encoding") == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_sentry_sends_only_when_configured_and_without_personal_data():
    code = (
        "import sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "print('active', client.is_active(), client.options.get('send_default_pii'))\n"
        "if client.is_active():\n"
        "    sentry_sdk.capture_message('tenantdesk sentry check')\n"
        "    sentry_sdk.flush(10)\n"
    )
    assert "active False" in _manage_shell(code, {}).stdout

    _SentryIntake.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryIntake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/42"
        result = _manage_shell(code, {"SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "ci"})
    finally:
        server.shutdown()
    assert "active True False" in result.stdout, result.stdout + result.stderr
    events = [body for body in _SentryIntake.received if b"tenantdesk sentry check" in body]
    assert events, _SentryIntake.received
    assert b'"environment":"ci"' in events[0]
