"""The live ticket thread over a websocket (Channels' WebsocketCommunicator, in-memory layer):
who gets what, who is refused and with which close code, catch-up after a reconnect, limits,
typing and presence, streamed AI text."""

import asyncio
import time

import pytest
from channels.layers import channel_layers
from django.db import transaction
from django.test import override_settings

from tenant_apps.tickets import live as live_api
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Message
from tests.conftest import ACME_HOST, GLOBEX_HOST
from tests.processes import redis_channel_layer
from tests.tenant_apps.tickets.live_support import (
    close_code,
    frames_for,
    in_site,
    next_frame,
    open_socket,
    run,
    viewer,
)
from tests.tenant_apps.tickets.live_support import ticket_created as _ticket


def _reply(live, ticket, who, body, *, internal=False, role=None):
    user = live.users[who]
    role = role or ("engineer" if who.startswith("engineer") else "staff")
    return in_site(
        live.acme,
        lambda: services.ticket_reply(ticket=ticket, actor=user, role=role, body=body, internal=internal),
    )


def test_messages_reach_everyone_viewing_and_internal_notes_only_engineers(live):
    async def scenario():
        ticket = await _ticket(live)
        requester = await viewer(ticket.number, live.key["acme_staff"])
        admin = await viewer(ticket.number, live.key["acme_admin"])
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        other_engineer = await viewer(ticket.number, live.key["engineer_all"])

        # Sent over the socket: through ticket_reply, acknowledged, then fanned out after commit.
        await engineer.send_json_to({"type": "message", "body": "<p>Which client version?</p>", "client_id": "c1"})
        ack = await next_frame(engineer, "ack")
        assert ack["client_id"] == "c1"
        for socket in (requester, admin, engineer, other_engineer):
            frame = await next_frame(socket, "message")
            assert frame["id"] == ack["message_id"]
            assert "Which client version?" in frame["html"] and frame["kind"] == "public"

        await engineer.send_json_to({"type": "message", "body": "Suspect the firewall", "internal": True})
        note = await next_frame(other_engineer, "message")
        assert note["kind"] == "internal" and "Suspect the firewall" in note["html"]
        assert (await next_frame(engineer, "message"))["id"] == note["id"]

        # Written elsewhere (a form, a worker, the API): the same hook publishes it.
        reply = await _reply(live, ticket, "acme_staff", "<p>Version 5.2.1</p>")
        for socket in (requester, admin):
            frame = await next_frame(socket, "message")
            assert frame["id"] == reply.pk  # the internal note never came first
        # A status change is an event line, with the new status pill.
        engineer_user = live.users["engineer_acme"]
        await in_site(
            live.acme,
            lambda: services.ticket_transition(
                ticket=ticket, actor=engineer_user, role="engineer", new_status="pending"
            ),
        )
        event = await next_frame(requester, "event")
        assert event["kind"] == "status" and "Waiting on requester" in event["status_html"]
        # A write that rolls back publishes nothing.

        def rolled_back():
            with transaction.atomic():
                services.ticket_reply(ticket=ticket, actor=engineer_user, role="engineer", body="never sent")
                raise RuntimeError("rollback")

        with pytest.raises(RuntimeError):
            await in_site(live.acme, rolled_back)
        late = await frames_for(requester, 0.5) + await frames_for(admin, 0.1)
        assert not [f for f in late if f["type"] == "message"]
        assert not [f for f in late if "Suspect the firewall" in str(f)]
        for socket in (requester, admin, engineer, other_engineer):
            await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("who", "host", "origin", "code"),
    [
        (None, ACME_HOST, None, 4401),  # anonymous
        ("outsider", ACME_HOST, None, 4404),  # no site at all: same as a site that does not exist
        ("globex_staff", ACME_HOST, None, 4404),  # another site's user
        ("acme_staff", GLOBEX_HOST, None, 4404),  # cross-site: acme's requester on globex's host
        ("acme_admin", ACME_HOST, None, None),  # sees every ticket of the site
        ("acme_staff", ACME_HOST, f"http://{GLOBEX_HOST}", 4403),  # a page on another host
        ("acme_staff", "unknown.tenantdesk.localhost", None, 4404),
        ("acme_staff", "evil.example.com", None, 4404),
    ],
)
def test_who_is_refused_and_with_which_code(live, who, host, origin, code):
    async def scenario():
        ticket = await _ticket(live, requester="acme_staff")
        socket = await open_socket(ticket.number, live.key[who] if who else None, host=host, origin=origin)
        if code is None:
            assert (await socket.receive_json_from(timeout=10))["type"] == "ready"
            await socket.disconnect()
        else:
            assert await close_code(socket) == code

    run(scenario)


def test_a_colleague_without_access_and_a_missing_ticket_get_the_same_answer(live):
    async def scenario():
        ticket = await _ticket(live, requester="acme_admin")  # not shared with acme_staff
        colleague = await open_socket(ticket.number, live.key["acme_staff"])
        assert await close_code(colleague) == 4404
        missing = await open_socket(999_999, live.key["acme_staff"])
        assert await close_code(missing) == 4404
        elsewhere = await open_socket(0, live.key["acme_staff"], path="/ws/other/")
        assert await close_code(elsewhere) == 4404
        # Same origin is fine (the page's own host, any port).
        mine = await _ticket(live, requester="acme_staff")
        same = await viewer(mine.number, live.key["acme_staff"], origin=f"https://{ACME_HOST}:8443")
        await same.disconnect()

    run(scenario)


def test_reconnect_catches_up_without_loss_or_duplicates(live):
    async def scenario():
        ticket = await _ticket(live)
        first = await _reply(live, ticket, "engineer_acme", "first")
        requester = await viewer(ticket.number, live.key["acme_staff"])
        await requester.send_json_to({"type": "sync", "after": first.pk, "after_event": 0})
        seen = [f for f in await frames_for(requester, 1.0) if f["type"] in ("message", "event", "synced")]
        assert [f["type"] for f in seen][-1] == "synced"
        last_event = max(f["id"] for f in seen if f["type"] == "event")
        await requester.disconnect()

        # While the page is away: a public reply, an internal note, a status change.
        missed = await _reply(live, ticket, "engineer_acme", "missed while away")
        await _reply(live, ticket, "engineer_acme", "internal: not for the requester", internal=True)
        engineer_user = live.users["engineer_acme"]
        await in_site(
            live.acme,
            lambda: services.ticket_transition(
                ticket=ticket, actor=engineer_user, role="engineer", new_status="resolved"
            ),
        )

        again = await viewer(ticket.number, live.key["acme_staff"])
        # A message written between connecting and the catch-up arrives live first, and is not
        # sent again by the catch-up.
        racing = await _reply(live, ticket, "acme_staff", "written during the reconnect")
        await again.send_json_to({"type": "sync", "after": first.pk, "after_event": last_event})
        frames = [f for f in await frames_for(again, 1.5) if f["type"] in ("message", "event", "synced")]
        messages = [f["id"] for f in frames if f["type"] == "message"]
        assert sorted(messages) == [missed.pk, racing.pk]
        assert len(messages) == len(set(messages))
        assert [f["kind"] for f in frames if f["type"] == "event"] == ["status"]
        assert frames[-1] == {"type": "synced", "more": False}
        assert "not for the requester" not in str(frames)

        # Live after the catch-up, still exactly once.
        after = await _reply(live, ticket, "engineer_acme", "and after")
        live_frames = [f for f in await frames_for(again, 1.0) if f["type"] == "message"]
        assert [f["id"] for f in live_frames] == [after.pk]
        await again.disconnect()

    run(scenario)


def test_rate_limit_and_frame_flood(live):
    async def scenario():
        if time.time() % 60 > 50:  # keep the four messages in one minute window
            await asyncio.sleep(61 - time.time() % 60)
        ticket = await _ticket(live)
        socket = await viewer(ticket.number, live.key["acme_staff"])
        answers = []
        for n in range(4):
            await socket.send_json_to({"type": "message", "body": f"message {n}", "client_id": str(n)})
            answers.append(await next_frame(socket, "ack", "error"))
        assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error"]
        assert answers[3]["code"] == "rate_limited" and answers[3]["retry_after"] >= 1
        count = await in_site(live.acme, lambda: Message.objects.filter(ticket=ticket).count())
        assert count == 3
        # The limit is per person, not per socket.
        second = await viewer(ticket.number, live.key["acme_staff"])
        await second.send_json_to({"type": "message", "body": "from a second tab", "client_id": "x"})
        assert (await next_frame(second, "ack", "error"))["code"] == "rate_limited"
        # Any frames, far too fast: the socket is closed.
        for _ in range(40):
            await second.send_json_to({"type": "ping"})
        assert await close_code(second) == 4429
        await socket.disconnect()

    with override_settings(LIVE_MESSAGES_PER_MINUTE=3):
        run(scenario)


def test_oversize_and_malformed_frames(live):
    async def scenario():
        ticket = await _ticket(live)
        socket = await viewer(ticket.number, live.key["acme_staff"])
        await socket.send_to(text_data="not json")
        assert (await next_frame(socket, "error"))["code"] == "bad_frame"
        await socket.send_json_to({"type": "launch"})
        assert (await next_frame(socket, "error"))["code"] == "bad_frame"
        await socket.send_json_to({"type": "message", "body": "é" * 1500})  # 3,000 bytes of UTF-8
        error = await next_frame(socket, "error")
        assert error["code"] == "too_large"
        assert await close_code(socket) == 4413
        count = await in_site(live.acme, lambda: Message.objects.filter(ticket=ticket).count())
        assert count == 0

    with override_settings(LIVE_FRAME_MAX_BYTES=2048):
        run(scenario)


def test_typing_and_who_is_viewing(live):
    async def scenario():
        ticket = await _ticket(live)
        requester = await viewer(ticket.number, live.key["acme_staff"])
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        ids = lambda frame: {v["id"] for v in frame["viewers"]}  # noqa: E731
        staff_id, engineer_id = live.users["acme_staff"].pk, live.users["engineer_acme"].pk
        viewing = await next_frame(requester, "presence")
        while ids(viewing) != {staff_id, engineer_id}:
            viewing = await next_frame(requester, "presence")
        assert {v["engineer"] for v in viewing["viewers"] if v["id"] == engineer_id} == {True}

        await engineer.send_json_to({"type": "typing"})
        typing = await next_frame(requester, "typing")
        assert typing["user_id"] == engineer_id
        assert not [f for f in await frames_for(engineer, 0.3) if f["type"] == "typing"]  # not to oneself
        # Typing in an internal note shows to engineers only.
        other = await viewer(ticket.number, live.key["engineer_all"])
        await asyncio.sleep(2.1)  # one typing frame per 2 s per socket
        await engineer.send_json_to({"type": "typing", "internal": True})
        assert (await next_frame(other, "typing"))["user_id"] == engineer_id
        assert not [f for f in await frames_for(requester, 0.5) if f["type"] == "typing"]

        await other.disconnect()
        await requester.disconnect()
        left = await next_frame(engineer, "presence")
        while staff_id in ids(left):
            left = await next_frame(engineer, "presence")
        assert ids(left) == {engineer_id}
        await engineer.disconnect()

    run(scenario)


def test_a_dead_socket_leaves_the_viewer_list_when_it_expires():
    from tenant_apps.tickets.presence import PRESENCE_SECONDS, presence_touch

    ben = {"id": 1, "name": "Ben", "engineer": True}
    alice = {"id": 2, "name": "Alice", "engineer": False}
    viewers, changed = presence_touch("s_x", 7, channel="a", viewer=ben, now=1000)
    assert changed and viewers == [ben]
    viewers, changed = presence_touch("s_x", 7, channel="b", viewer=alice, now=1010)
    assert changed and viewers == [alice, ben]
    # Socket "a" died without a goodbye; "b" keeps pinging.
    viewers, changed = presence_touch("s_x", 7, channel="b", viewer=alice, now=1000 + PRESENCE_SECONDS + 1)
    assert changed and viewers == [alice]
    # Another ticket, another schema: separate lists.
    assert presence_touch("s_y", 7, channel="c", viewer=ben, now=1000)[0] == [ben]


def test_streamed_ai_text_reaches_its_audience(live):
    async def scenario():
        ticket = await _ticket(live)
        requester = await viewer(ticket.number, live.key["acme_staff"])
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        other = await viewer(ticket.number, live.key["engineer_all"])
        engineer_id, staff_id = live.users["engineer_acme"].pk, live.users["acme_staff"].pk

        def fake_model(kind, user_id, stream_id, words, message_id=None):
            def stream():
                live_api.stream_open(ticket, stream_id=stream_id, kind=kind, user_id=user_id)
                for word in words:
                    live_api.stream_chunk(ticket, stream_id=stream_id, delta=word, kind=kind, user_id=user_id)
                live_api.stream_close(ticket, stream_id=stream_id, kind=kind, user_id=user_id, message_id=message_id)

            return in_site(live.acme, stream)

        words = ["Try ", "restarting ", "the ", "VPN ", "client."]
        await fake_model("assistant", staff_id, "s1", words, message_id=4242)
        for socket in (requester, engineer, other):
            frames = [f for f in await frames_for(socket, 0.7) if f["type"].startswith("stream.")]
            assert frames[0] == {"type": "stream.open", "stream_id": "s1", "kind": "assistant", "attempt": 1}
            chunks = [f for f in frames if f["type"] == "stream.chunk"]
            assert "".join(f["delta"] for f in chunks) == "".join(words)
            # Each chunk says where it starts: right after the one before.
            starts = [sum(len(c["delta"]) for c in chunks[:i]) for i in range(len(chunks))]
            assert [f["offset"] for f in chunks] == starts
            assert frames[-1] == {
                "type": "stream.close", "stream_id": "s1", "kind": "assistant", "message_id": 4242, "error": ""
            }  # fmt: skip

        await fake_model("draft", engineer_id, "d1", ["Hello, ", "please ", "reboot."])
        draft = [f for f in await frames_for(engineer, 0.7) if f["type"].startswith("stream.")]
        assert "".join(f.get("delta", "") for f in draft) == "Hello, please reboot."
        assert draft[-1]["type"] == "stream.close"
        for socket in (requester, other):
            assert not [f for f in await frames_for(socket, 0.3) if f["type"].startswith("stream.")]
        # A draft addressed to a non-engineer is not shown to them.
        await fake_model("draft", staff_id, "d2", ["secret"])
        assert not [f for f in await frames_for(requester, 0.5) if f["type"].startswith("stream.")]

        with pytest.raises(ValueError):
            await in_site(live.acme, lambda: live_api.stream_open(ticket, stream_id="x", kind="draft", user_id=None))
        for socket in (requester, engineer, other):
            await socket.disconnect()

    run(scenario)


REDIS_TEST_URL = "redis://127.0.0.1:6379/7"
REDIS_LAYER = redis_channel_layer(REDIS_TEST_URL)
OTHER_PROCESS = """
from django_tenants.utils import schema_context
from tenant_apps.tickets import live
from tenant_apps.tickets.models import Ticket
with schema_context({schema!r}):
    ticket = Ticket.objects.get(number={number})
    live.stream_open(ticket, stream_id="w1", kind="assistant", user_id=None)
    live.stream_chunk(ticket, stream_id="w1", delta="written by another process", kind="assistant", user_id=None)
    live.stream_close(ticket, stream_id="w1", kind="assistant", user_id=None, message_id={message_id})
    live.publish_message(live.message_get_for_live({message_id}))
"""


def test_through_the_real_redis_channel_layer(live):
    """Two sockets and a second process (as a Celery worker would be), meeting in Redis DB 7."""
    import os
    import subprocess
    import sys

    import redis
    from django.conf import settings

    from tests.processes import database_url

    try:
        redis.Redis.from_url(REDIS_TEST_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_TEST_URL}")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection_settings()),
        "REDIS_URL": REDIS_TEST_URL,
        "TESTING": "1",
        "LOG_LEVEL": "WARNING",
    }

    async def scenario():
        ticket = await _ticket(live)
        requester = await viewer(ticket.number, live.key["acme_staff"])
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        await engineer.send_json_to({"type": "message", "body": "through redis", "client_id": "r"})
        ack = await next_frame(engineer, "ack")
        assert (await next_frame(requester, "message"))["id"] == ack["message_id"]

        script = OTHER_PROCESS.format(schema=live.acme.schema_name, number=ticket.number, message_id=ack["message_id"])
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        frames = [f for f in await frames_for(requester, 1.5) if f["type"] != "presence"]
        assert [f["type"] for f in frames] == ["stream.open", "stream.chunk", "stream.close"]
        assert frames[1]["delta"] == "written by another process"
        # publish_message again from the other process: this socket had it already, so not twice.
        await requester.disconnect()
        await engineer.disconnect()

    channel_layers.backends.clear()
    with override_settings(CHANNEL_LAYERS=REDIS_LAYER):
        run(scenario)
    channel_layers.backends.clear()


def connection_settings():
    from django.db import connection

    return connection.settings_dict


def test_an_ai_answer_written_by_a_worker_appears_live_per_viewer(live):
    """The AI's message comes through the same hook; its card is the requester's (with "This
    solved it") or the engineer's (without)."""

    async def scenario():
        ticket = await _ticket(live)
        requester = await viewer(ticket.number, live.key["acme_staff"])
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        message = await in_site(
            live.acme,
            lambda: services.ticket_ai_message_add(
                ticket=ticket, body_html="<p>Restart the VPN client.</p>", ai_model="offline", sources=[]
            ),
        )
        mine = await next_frame(requester, "message")
        theirs = await next_frame(engineer, "message")
        assert mine["id"] == theirs["id"] == message.pk and mine["kind"] == "ai"
        assert "Restart the VPN client." in mine["html"] and "This solved it" in mine["html"]
        assert "Restart the VPN client." in theirs["html"] and "This solved it" not in theirs["html"]
        # No event line for it: the message is the event.
        assert not [f for f in await frames_for(requester, 0.3) if f["type"] == "event"]
        await requester.disconnect()
        await engineer.disconnect()

    run(scenario)
