"""A streamed AI answer seen from pages that were not there from its start, in real browsers
against a uvicorn whose channel layer and kept stream text are in Redis DB 13 (this file's own;
this process streams into it, as a worker would):

- ben opens the ticket mid-answer: his bubble starts with everything written so far, not with
  the next words, then follows live;
- alice's socket drops mid-answer and reconnects: her bubble gets what she missed, once;
- at the end both show exactly the whole answer; screenshots of ben's page (when he joined, at
  the end) in test-artifacts/.
"""

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_live_thread import _ticket_committed, redis_live_server
from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.processes import committed, redis_channel_layer

pytestmark = pytest.mark.browser

REDIS_STREAMS_URL = "redis://127.0.0.1:6379/13"
REDIS_STREAMS_LAYER = redis_channel_layer(REDIS_STREAMS_URL)
# Keeps the page's sockets reachable, so the test can drop one as a flaky network would.
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__liveSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__liveSockets.push(this); }
  };
})();
"""
FIRST = ["Restart ", "the ", "VPN ", "client ", "from ", "the ", "tray ", "icon, "]
SECOND = ["then ", "sign ", "in ", "again ", "with ", "your ", "usual ", "password.\n\n"]
THIRD = ["If ", "it ", "still ", "drops ", "after ", "an ", "hour, ", "send ", "us ", "the ", "VPN ", "log."]


@pytest.fixture(scope="module")
def live_url_streams(world):
    with redis_live_server(REDIS_STREAMS_URL) as server:
        yield server


def _stream(number: int, words: list[str], *, start: bool = False, close: bool = False) -> None:
    """Part of the assistant's answer, from this process as a worker sends it (a word every 60 ms)."""
    from channels.layers import channel_layers
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import live
    from tenant_apps.tickets.models import Ticket

    who = {"stream_id": f"ai-midstream-{number}", "kind": "assistant", "user_id": None}

    def run():
        channel_layers.backends.clear()
        with override_settings(CHANNEL_LAYERS=REDIS_STREAMS_LAYER, REDIS_URL=REDIS_STREAMS_URL), \
                tenant_context(Client.objects.get(subdomain="acme")):  # fmt: skip
            ticket = Ticket.objects.get(number=number)
            if start:
                live.stream_open(ticket, **who)
            for word in words:
                live.stream_chunk(ticket, delta=word, **who)
                time.sleep(0.06)
            if close:
                live.stream_close(ticket, **who)
        channel_layers.backends.clear()

    committed(run)


def _ai_answer(number: int, text: str) -> None:
    """The assistant's real message, written as the AI task does."""
    from channels.layers import channel_layers
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Ticket

    def run():
        channel_layers.backends.clear()
        with override_settings(CHANNEL_LAYERS=REDIS_STREAMS_LAYER), \
                tenant_context(Client.objects.get(subdomain="acme")):  # fmt: skip
            ticket = Ticket.objects.get(number=number)
            services.ticket_ai_message_add(ticket=ticket, body_html=f"<p>{text}</p>", ai_model="offline", sources=[])
        channel_layers.backends.clear()

    committed(run)


def _bubble_text(page) -> str:
    return page.locator("article.live-provisional .live-stream-text").text_content()


def test_pages_that_join_mid_stream_show_the_whole_answer(page, second_page, shoot, live_url_streams):
    number = _ticket_committed(f"VPN drops every hour [{uuid.uuid4().hex[:8]}]")
    alice, ben = page, second_page
    alice.add_init_script(KEEP_SOCKETS)
    login_on_site(alice, live_url_streams, "acme", CAST["acme_staff"], f"/tickets/{number}/")
    expect(alice.locator("#live-status")).to_have_text("Live")

    _stream(number, FIRST, start=True)
    expect(alice.locator("article.live-provisional")).to_contain_text("tray icon,")

    # ben opens the ticket while the answer is being written: all of it so far, then live.
    login_on_site(ben, live_url_streams, "acme", CAST["engineer_acme"], f"/tickets/{number}/")
    expect(ben.locator("#live-status")).to_have_text("Live")
    expect(ben.locator("article.live-provisional")).to_contain_text("Restart the VPN client")
    assert _bubble_text(ben) == "".join(FIRST)
    shoot(ben, "live-3-joined-mid-stream-desktop")

    # alice's connection drops; the answer goes on while her page reconnects.
    alice.evaluate("window.__liveSockets.at(-1).close()")
    expect(alice.locator("#live-status")).to_have_text("Reconnecting…")
    _stream(number, SECOND)
    expect(alice.locator("#live-status")).to_have_text("Live")
    expect(alice.locator("article.live-provisional")).to_contain_text("usual password.")
    assert _bubble_text(alice) == "".join(FIRST + SECOND)  # what she missed, added once

    _stream(number, THIRD, close=True)
    whole = "".join(FIRST + SECOND + THIRD)
    for each in (alice, ben):
        bubble = each.locator("article.live-provisional")
        expect(bubble).to_contain_text("send us the VPN log.")
        expect(bubble.locator(".live-provisional-note")).to_have_text("provisional")
        expect(bubble).to_have_count(1)
        assert _bubble_text(each) == whole
    assert alice.evaluate("window.__liveSockets.length") == 2
    shoot(ben, "live-4-joined-mid-stream-finished-desktop")

    # The real message takes the bubble's place on both pages.
    _ai_answer(number, "Restart the VPN client from the tray icon, then sign in again.")
    for each in (alice, ben):
        expect(each.locator("article.live-provisional")).to_have_count(0)
        expect(each.locator("article[data-message-kind=ai]")).to_contain_text("from the tray icon")
