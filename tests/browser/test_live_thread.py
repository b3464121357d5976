"""The live ticket thread in two real browsers: alice (acme staff, the requester) and ben (engineer
covering acme) on the same ticket page, over the live uvicorn server (websockets through
Channels, in-memory layer in that one process).

- a message sent in one page appears in the other within a second, without reload (timed from
  the second message on: the first also warms the server);
- ben's internal note never reaches alice's page; "is typing" and "Viewing now" show up;
- with websockets unavailable, the page says so and polls the HTTP fallback;
- a streamed AI answer (pushed through Redis DB 7 from this process, as a worker would) shows
  as a provisional bubble; screenshots at 1280 and 390 px.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import expect

from tests.browser.conftest import STARTUP_SECONDS, LiveServer, _free_port, _healthy
from tests.browser.test_ticket_journey import login_on_site, type_rich_text
from tests.conftest import CAST
from tests.processes import committed, database_url, redis_channel_layer

pytestmark = pytest.mark.browser

REDIS_TEST_URL = "redis://127.0.0.1:6379/7"
REDIS_LAYER = redis_channel_layer(REDIS_TEST_URL)


def _ticket_committed(subject: str) -> int:
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services

    def create():
        with tenant_context(Client.objects.get(subdomain="acme")):
            alice = User.objects.get(email=CAST["acme_staff"])
            return services.ticket_create(requester=alice, subject=subject, description="<p>The VPN drops.</p>").number

    return committed(create)


@pytest.fixture
def ticket_number(world):
    return _ticket_committed(f"VPN drops every hour [{uuid.uuid4().hex[:8]}]")


def _open_both(page, second_page, live_url, number):
    path = f"/tickets/{number}/"
    login_on_site(page, live_url, "acme", CAST["acme_staff"], path)
    login_on_site(second_page, live_url, "acme", CAST["engineer_acme"], path)
    for each in (page, second_page):
        expect(each.locator("#live-status")).to_have_text("Live")
    return page, second_page


def _send(page, text, *, internal=False):
    type_rich_text(page, text)
    if internal:
        page.get_by_label("Internal note").check()
    page.get_by_role("button", name="Send", exact=True).click()


def test_two_people_on_one_ticket_see_each_other_live(page, second_page, live_url, ticket_number):
    alice, ben = _open_both(page, second_page, live_url, ticket_number)
    expect(alice.locator("#live-viewers")).to_contain_text("Viewing now:")
    expect(alice.locator("#live-viewers")).to_contain_text("(you)")
    expect(alice.locator("#live-viewers")).to_contain_text(",")  # both of them

    # ben types: alice sees it; ben sends: alice has the reply within a second, no reload.
    ben.locator(".ProseMirror[contenteditable=true]").click()
    ben.keyboard.type("Which")
    expect(alice.locator("#live-typing")).to_contain_text("is typing")
    ben.keyboard.type(" VPN client version do you run?")
    started = time.monotonic()
    ben.get_by_role("button", name="Send", exact=True).click()
    # The first message after the pages opened also warms the server's code paths (and this
    # machine is shared: at load 20 on 2 cores it took 0.96 s): it must arrive, the next ones are
    # timed against the one-second promise.
    expect(alice.locator("article", has_text="Which VPN client version do you run?")).to_be_visible(timeout=5000)
    assert time.monotonic() - started < 5.0
    expect(ben.locator("article", has_text="Which VPN client version do you run?")).to_have_count(1)
    expect(ben.locator(".ProseMirror[contenteditable=true]")).not_to_contain_text("Which VPN")  # the editor was emptied
    expect(alice.locator("div:has(> h1) > .badge.rounded-pill")).to_have_text("Open")  # new -> open, live

    # An internal note: on ben's page only.
    expect(ben.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    _send(ben, "Firewall lease looks short", internal=True)
    expect(ben.locator("article", has_text="Firewall lease looks short")).to_contain_text("Internal note")
    expect(ben.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    # ben again, timed: alice has it within a second.
    type_rich_text(ben, "Please send me the VPN log")
    started = time.monotonic()
    ben.get_by_role("button", name="Send", exact=True).click()
    expect(alice.locator("article", has_text="Please send me the VPN log")).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0

    # alice answers: ben sees it within a second; alice never got the note.
    _send(alice, "Version 5.2.1")
    started = time.monotonic()
    expect(ben.locator("article", has_text="Version 5.2.1")).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(alice.locator("article", has_text="Firewall lease")).to_have_count(0)
    alice.reload()  # nor after a reload; and nothing was shown twice
    expect(alice.locator("#live-status")).to_have_text("Live")
    expect(alice.locator("article", has_text="Firewall lease")).to_have_count(0)
    expect(alice.locator("article", has_text="Version 5.2.1")).to_have_count(1)


def test_without_websockets_the_page_polls(page, second_page, live_url, ticket_number):
    page.add_init_script("delete window.WebSocket;")  # a proxy or browser without websockets
    alice, ben = page, second_page
    path = f"/tickets/{ticket_number}/"
    login_on_site(alice, live_url, "acme", CAST["acme_staff"], path)
    login_on_site(ben, live_url, "acme", CAST["engineer_acme"], path)
    expect(alice.locator("#live-status")).to_have_text("Offline - checking every 10 s")
    expect(ben.locator("#live-status")).to_have_text("Live")
    _send(ben, "Polled, not pushed")
    expect(ben.locator("article", has_text="Polled, not pushed")).to_be_visible()
    _send(ben, "And a note", internal=True)
    expect(ben.locator("article", has_text="And a note")).to_be_visible()
    expect(alice.locator("article", has_text="Polled, not pushed")).to_be_visible(timeout=12_000)
    expect(alice.locator("article", has_text="And a note")).to_have_count(0)
    # The form still posts normally from the polling page.
    _send(alice, "Sent by the plain form")
    expect(alice.locator("article", has_text="Sent by the plain form")).to_have_count(1)
    expect(ben.locator("article", has_text="Sent by the plain form")).to_be_visible(timeout=1000)


@contextmanager
def redis_live_server(redis_url: str):
    """A uvicorn whose channel layer, cache and kept stream text are in Redis `redis_url` (a DB of
    the caller's own: it is emptied before and after), so this process can stream into it."""
    import redis

    try:
        # Start without cache entries of another database (a host -> site entry naming a schema
        # this database does not have would be a 500).
        redis.Redis.from_url(redis_url).flushdb()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {redis_url}")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "TESTING": "1",
        "DEBUG": "0",
        "SITE_SCHEME": "http",
        "SITE_PORT": str(port),
        "ROOT_DOMAIN": settings.ROOT_DOMAIN,
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "uvicorn", "saas.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--lifespan", "off", "--no-access-log"]
    log = tempfile.TemporaryFile(mode="w+b")
    server = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(port):
            assert server.poll() is None and time.monotonic() < deadline, "uvicorn (Redis layer) did not start"
            time.sleep(0.1)
        yield LiveServer(port=port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still closing a socket's channel-layer read: as conftest.live_url
            server.kill()
            server.wait()
        log.close()
        # Drop the tasks that server queued (never run) and its cache (host -> site entries of the
        # test database).
        redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture(scope="module")
def live_url_redis(world):
    """A second uvicorn whose channel layer is Redis DB 7 (this suite's own)."""
    with redis_live_server(REDIS_TEST_URL) as server:
        yield server


def _ai_answer(number: int, text: str) -> None:
    """The assistant's real message, written as the AI task does (its stream was never closed)."""
    from channels.layers import channel_layers
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Ticket

    def run():
        channel_layers.backends.clear()
        with override_settings(CHANNEL_LAYERS=REDIS_LAYER), tenant_context(Client.objects.get(subdomain="acme")):
            ticket = Ticket.objects.get(number=number)
            services.ticket_ai_message_add(ticket=ticket, body_html=f"<p>{text}</p>", ai_model="offline", sources=[])
        channel_layers.backends.clear()

    committed(run)


def _stream(number: int, kind: str, user_email: str | None, words: list[str], *, close: bool):
    """Stream text into the Redis-backed server, as an AI task in a worker would."""
    from channels.layers import channel_layers
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import live
    from tenant_apps.tickets.models import Ticket

    def run():
        channel_layers.backends.clear()
        # REDIS_URL too, as a worker has it: the text so far is kept where the server reads it.
        with override_settings(CHANNEL_LAYERS=REDIS_LAYER, REDIS_URL=REDIS_TEST_URL), \
                tenant_context(Client.objects.get(subdomain="acme")):  # fmt: skip
            ticket = Ticket.objects.get(number=number)
            user_id = User.objects.get(email=user_email).pk if user_email else None
            stream_id = f"{kind}-{number}"
            live.stream_open(ticket, stream_id=stream_id, kind=kind, user_id=user_id)
            for word in words:
                live.stream_chunk(ticket, stream_id=stream_id, delta=word, kind=kind, user_id=user_id)
                time.sleep(0.06)
            if close:
                live.stream_close(ticket, stream_id=stream_id, kind=kind, user_id=user_id)
        channel_layers.backends.clear()

    committed(run)


def test_streamed_ai_text_and_screenshots(page, second_page, phone, shoot, live_url_redis, ticket_number):
    alice, ben = _open_both(page, second_page, live_url_redis, ticket_number)
    alice_phone, ben_phone = phone(alice), phone(ben)
    for small in (alice_phone, ben_phone):
        small.goto(alice.url)
        expect(small.locator("#live-status")).to_have_text("Live")

    answer = ["Restart ", "the ", "VPN ", "client, ", "then ", "sign ", "in ", "again.\n\n", "If it still drops, "]
    _stream(ticket_number, "assistant", None, answer, close=False)
    for each in (alice, ben, alice_phone):
        bubble = each.locator("article.live-provisional")
        expect(bubble).to_contain_text("If it still drops,")
        expect(bubble).to_contain_text("provisional")
    shoot(alice, "live-1-requester-streaming-desktop")
    shoot(alice_phone, "live-1-requester-streaming-phone")

    draft = ["Hello Alice,\n\n", "please ", "update ", "to ", "5.3 ", "and ", "tell ", "us."]
    _stream(ticket_number, "draft", CAST["engineer_acme"], draft, close=True)
    expect(ben.locator("#ai-draft-text")).to_have_text("".join(draft))
    expect(alice.locator("#ai-draft")).to_have_count(0)  # the requester has no draft box at all
    expect(ben_phone.locator("#ai-draft-text")).to_have_text("".join(draft))  # ben's other device
    shoot(ben, "live-2-engineer-draft-desktop")
    shoot(ben_phone, "live-2-engineer-draft-phone")
    # The real answer arrives: it takes the provisional bubble's place, on every page.
    _ai_answer(ticket_number, "Restart the VPN client, then sign in again.")
    for each in (alice, ben, alice_phone):
        expect(each.locator("article.live-provisional")).to_have_count(0)
        expect(each.locator("article[data-message-kind=ai]")).to_contain_text("Restart the VPN client")
    expect(alice.locator("article[data-message-kind=ai]").get_by_role("button", name="This solved it")).to_be_visible()
    expect(ben.locator("article[data-message-kind=ai]").get_by_role("button", name="This solved it")).to_have_count(0)
    ben.get_by_role("button", name="Use this draft").click()
    expect(ben.locator(".ProseMirror[contenteditable=true]")).to_contain_text("please update to 5.3 and tell us.")
    expect(ben.locator(".ProseMirror[contenteditable=true] p")).to_have_count(2)
