"""A real browser against the real ASGI server.

`live_url` starts uvicorn in a subprocess on the pytest test database (after `world` has
committed its rows there), so requests go through the whole stack: host -> site resolution,
the session cookie shared by every subdomain, allauth's login form, CSRF, WhiteNoise.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright; `playwright install` is never
needed. Playwright's sync API keeps an asyncio loop marked as running on this thread while it is
started, and Django refuses ORM calls then (SynchronousOnlyOperation). So Playwright lives for
one test only: it starts after the autouse `db` transaction of tests/conftest.py has begun and
stops before that transaction is rolled back. A browser test that needs rows from the ORM must
ask for those fixtures before `page`; while the browser runs, check things through the browser.
"""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import database_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
STARTUP_SECONDS = 20


@dataclass(frozen=True)
class LiveServer:
    port: int

    def root_url(self, path: str = "/") -> str:
        return f"http://{settings.ROOT_DOMAIN}:{self.port}{path}"

    def site_url(self, subdomain: str, path: str = "/") -> str:
        return f"http://{subdomain}.{settings.ROOT_DOMAIN}:{self.port}{path}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz", headers={"Host": settings.ROOT_DOMAIN})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture(scope="session")
def live_url(world):
    """uvicorn serving saas.asgi on a free port, on the test database `world` filled."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "TESTING": "1",
        "DEBUG": "0",
        "SITE_SCHEME": "http",
        "SITE_PORT": str(port),  # links between sites (root home -> site) carry the port
        "ROOT_DOMAIN": settings.ROOT_DOMAIN,
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "uvicorn", "saas.asgi:application"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--no-access-log"]
    # A file, not a pipe: nobody reads the server's output while tests run, and a full pipe
    # would block the server.
    log = tempfile.TemporaryFile(mode="w+b")
    server = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603

    def output() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-8000:]

    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(port):
            if server.poll() is not None:
                pytest.fail(f"uvicorn exited with code {server.returncode} before answering:\n{output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer GET /healthz within {STARTUP_SECONDS} s:\n{output()}")
            time.sleep(0.1)
        yield LiveServer(port=port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(autouse=True)
def _undo_committed_tickets(world):
    """The live server commits what a browser test creates; take it away again afterwards, so
    the rest of the suite (which runs in rolled-back transactions) sees the sites as they were."""
    from shared_apps.tenancy.models import Client
    from tests.processes import committed, site_tickets_restore, site_tickets_snapshot

    sites = committed(lambda: list(Client.objects.filter(subdomain__in=["acme", "globex"])))
    counters = site_tickets_snapshot(sites)
    yield
    site_tickets_restore(sites, counters)
    # Tickets created through the live server were categorized by the offline model, which
    # metered its calls in the public schema: take those rows away too.
    from shared_apps.billing.models import UsageRecord

    committed(lambda: UsageRecord.objects.filter(client__in=sites, provider="offline").delete())


@pytest.fixture
def browser(live_url):
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _desktop_page(browser, request, suffix: str = ""):
    """A page in a fresh context (no cookies) at desktop width; if the test fails, its full-page
    screenshot is left in test-artifacts/."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}{suffix}.png", full_page=True)
    context.close()


@pytest.fixture
def page(browser, request):
    """A fresh context (no cookies) per test, at desktop width."""
    yield from _desktop_page(browser, request)


@pytest.fixture
def phone(browser):
    """Opens a phone-sized page (390x844, touch) carrying the cookies of a desktop page."""
    contexts = []

    def open_like(desktop_page):
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, storage_state=desktop_page.context.storage_state()
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_like
    for context in contexts:
        context.close()


@pytest.fixture
def shoot():
    """Saves a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def second_page(browser, request):
    """A second person: an own context (own cookies), at desktop width, like `page`."""
    yield from _desktop_page(browser, request, "-second")
