"""Streamed AI text for a socket that joins mid-stream (a page opened late, a reconnect): it is
sent the text so far once, then only the new chunks; every character reaches a socket once;
duplicates, late catch-ups and a model's fresh start never double the text; a draft stays its
engineer's, on the catch-up path too. The text so far is kept in this process's memory or in
Redis (DB 13, REDIS_URL), both run. Channels' WebsocketCommunicator, in-memory channel layer."""

import time
from types import SimpleNamespace

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from tenant_apps.tickets import live as live_api
from tenant_apps.tickets import streams
from tests.tenant_apps.tickets.live_support import (
    TIMEOUT,
    close_code,
    frames_for,
    in_site,
    open_socket,
    run,
    ticket_created,
    viewer,
)

STREAM_REDIS_URL = "redis://127.0.0.1:6379/13"
# An emoji is two UTF-16 units (a JavaScript string's length) but one Python character: the
# offsets must be in the page's unit.
FIRST = ["Restart ", "the ", "VPN 🔌 ", "client, "]
SECOND = ["then ", "sign ", "in ", "again.\n\n"]
THIRD = ["If it still drops, ", "send us the log."]
FULL = "".join(FIRST + SECOND + THIRD)


@pytest.fixture(params=["memory", "redis"])
def store(request):
    """Where the text so far is kept: this process (no REDIS_URL) or Redis DB 13."""
    if request.param == "memory":
        with override_settings(REDIS_URL=""):
            yield request.param
        return
    import redis

    client = redis.Redis.from_url(STREAM_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {STREAM_REDIS_URL}")
    client.flushdb()  # DB 13 is this file's own (and the mid-stream browser test's)
    with override_settings(REDIS_URL=STREAM_REDIS_URL):
        yield request.param
    client.flushdb()


@pytest.fixture
def every_chunk_flushed(monkeypatch):
    """One frame per chunk (not one per 50 ms), so the tests know where each frame falls."""
    monkeypatch.setattr(live_api, "STREAM_FLUSH_SECONDS", 0)


class Page:
    """What live.js (streamOpen / streamChunk) makes of stream frames: each stream's text, by
    offset in UTF-16 units as a JavaScript string counts them."""

    def __init__(self):
        self.streams: dict[str, dict] = {}
        self.gaps = 0

    def apply(self, frame: dict) -> None:
        if frame["type"] not in ("stream.open", "stream.chunk"):
            return
        attempt = frame.get("attempt", 1)
        stream = self.streams.get(frame["stream_id"])
        if stream is None or stream["attempt"] < attempt:
            stream = self.streams[frame["stream_id"]] = {"attempt": attempt, "text": b""}
        if frame["type"] == "stream.open" or attempt < stream["attempt"]:
            return
        have, delta = len(stream["text"]) // 2, frame["delta"].encode("utf-16-le")
        if frame["offset"] > have:
            self.gaps += 1  # the page would ask for a catch-up
        elif frame["offset"] + len(delta) // 2 > have:
            stream["text"] += delta[(have - frame["offset"]) * 2 :]

    def text(self, stream_id: str) -> str:
        return self.streams[stream_id]["text"].decode("utf-16-le")


def _stream(live, ticket, words=(), *, stream_id="ai-1", kind="assistant", user_id=None, start=False,
            close=False, message_id=None):  # fmt: skip
    """A worker's side of a stream (live.stream_*), in acme's schema, committed."""
    who = {"stream_id": stream_id, "kind": kind, "user_id": user_id}

    def work():
        if start:
            live_api.stream_open(ticket, **who)
        for word in words:
            live_api.stream_chunk(ticket, delta=word, **who)
        if close:
            live_api.stream_close(ticket, message_id=message_id, **who)

    return in_site(live.acme, work)


async def _synced(socket) -> list[dict]:
    """Send the page's catch-up (`sync`, as on every connect); the frames up to `synced`."""
    await socket.send_json_to({"type": "sync", "after": 0, "after_event": 0})
    frames = []
    while True:
        frames.append(await socket.receive_json_from(timeout=TIMEOUT))
        if frames[-1]["type"] == "synced":
            return frames


def _streamed(frames: list[dict]) -> list[dict]:
    return [frame for frame in frames if frame["type"].startswith("stream.")]


def _units_sent(frames: list[dict]) -> int:
    return sum(streams.utf16_len(frame["delta"]) for frame in frames if frame["type"] == "stream.chunk")


def test_a_page_opened_mid_stream_shows_the_text_so_far_then_the_rest(live, store, every_chunk_flushed):
    async def scenario():
        ticket = await ticket_created(live)
        early = await viewer(ticket.number, live.key["acme_staff"])
        seen = {early: await _synced(early)}
        await _stream(live, ticket, FIRST, start=True)

        # Opened mid-stream: the text so far in one chunk at offset 0, then the catch-up's end.
        late = await viewer(ticket.number, live.key["acme_admin"])
        seen[late] = await _synced(late)
        assert _streamed(seen[late]) == [
            {"type": "stream.open", "stream_id": "ai-1", "kind": "assistant", "attempt": 1},
            {"type": "stream.chunk", "stream_id": "ai-1", "kind": "assistant", "attempt": 1, "offset": 0,
             "delta": "".join(FIRST)},
        ]  # fmt: skip
        # A socket that gets a chunk before its page's `sync`: not sent alone (the page would
        # have a hole); the catch-up has it.
        racing = await viewer(ticket.number, live.key["engineer_acme"])
        await _stream(live, ticket, SECOND[:1])
        seen[racing] = await _synced(racing)
        assert [f["delta"] for f in seen[racing] if f["type"] == "stream.chunk"] == ["".join(FIRST + SECOND[:1])]

        await _stream(live, ticket, SECOND[1:] + THIRD, close=True, message_id=4242)
        for socket, frames in seen.items():
            frames = _streamed(frames + await frames_for(socket, 0.7))
            page = Page()
            for frame in frames:
                page.apply(frame)
            assert page.text("ai-1") == FULL and page.gaps == 0
            # Each character went to each socket once: a late page gets no more than the rest.
            assert _units_sent(frames) == streams.utf16_len(FULL)
            assert frames[-1]["type"] == "stream.close" and frames[-1]["message_id"] == 4242
        # The text was kept only while the stream was open.
        assert await in_site(live.acme, lambda: streams.stream_list(live.acme.schema_name, ticket.pk)) == []
        for socket in seen:
            await socket.disconnect()

    run(scenario)


def test_a_reconnecting_page_shows_the_whole_text_once(live, every_chunk_flushed):
    async def scenario():
        ticket = await ticket_created(live)
        page = Page()
        socket = await viewer(ticket.number, live.key["acme_staff"])
        await _synced(socket)
        await _stream(live, ticket, FIRST, start=True)
        for frame in await frames_for(socket, 0.5):
            page.apply(frame)
        assert page.text("ai-1") == "".join(FIRST)
        await socket.disconnect()
        await _stream(live, ticket, SECOND)  # while the page is away

        again = await viewer(ticket.number, live.key["acme_staff"])
        catch_up = _streamed(await _synced(again))
        assert catch_up[-1]["offset"] == 0 and catch_up[-1]["delta"] == "".join(FIRST + SECOND)
        for frame in catch_up:
            page.apply(frame)
        assert page.text("ai-1") == "".join(FIRST + SECOND)  # the missed part added, not all again
        await _stream(live, ticket, THIRD, close=True)
        rest = await frames_for(again, 0.5)
        for frame in rest:
            page.apply(frame)
        assert page.text("ai-1") == FULL
        # Whatever comes twice, or late (the catch-up after newer chunks), changes nothing.
        for frame in [*rest, *catch_up, *rest]:
            page.apply(frame)
        assert page.text("ai-1") == FULL and page.gaps == 0
        await again.disconnect()

    run(scenario)


def test_a_fresh_start_replaces_the_text_and_stale_or_repeated_frames_are_dropped(live, every_chunk_flushed):
    """A model that failed over starts the stream again (`stream_open` twice): attempt 2, empty."""

    async def scenario():
        ticket = await ticket_created(live)
        early = await viewer(ticket.number, live.key["acme_staff"])
        seen = {early: await _synced(early)}
        await _stream(live, ticket, ["The remote model ", "began"], start=True)
        await _stream(live, ticket, ["Offline: ", "restart the client."], start=True)
        late = await viewer(ticket.number, live.key["engineer_acme"])
        seen[late] = await _synced(late)
        assert _streamed(seen[late])[-1] == {
            "type": "stream.chunk", "stream_id": "ai-1", "kind": "assistant", "attempt": 2, "offset": 0,
            "delta": "Offline: restart the client.",
        }  # fmt: skip

        seen[early] += await frames_for(early, 0.4)  # both attempts, live
        # Frames that reach the consumers again or late: the first attempt's, a repeated chunk.
        group = live_api.group_name(live.acme.schema_name, ticket.pk, "all")
        head = {"type": "live.stream", "frame": "stream.chunk", "stream_id": "ai-1", "kind": "assistant",
                "user_id": None}  # fmt: skip
        layer = get_channel_layer()
        await layer.group_send(group, {**head, "attempt": 1, "offset": 17, "end": 22, "delta": "began"})
        await layer.group_send(group, {**head, "attempt": 2, "offset": 9, "end": 28, "delta": "restart the client."})
        assert not _streamed(await frames_for(early, 0.4)) and not _streamed(await frames_for(late, 0.1))

        await _stream(live, ticket, [" Then sign in."], close=True)
        for socket, frames in seen.items():
            page = Page()
            for frame in frames + await frames_for(socket, 0.5):
                page.apply(frame)
            assert page.text("ai-1") == "Offline: restart the client. Then sign in."
        for socket in seen:
            await socket.disconnect()

    run(scenario)


def test_a_draft_joined_mid_stream_reaches_only_its_engineer(live, store, every_chunk_flushed):
    words = ["Hello Alice, ", "the VPN lease is short; ", "please update to 5.3."]

    async def scenario():
        ticket = await ticket_created(live)
        engineer_id = live.users["engineer_acme"].pk
        draft = {"stream_id": "ai-7", "kind": "draft", "user_id": engineer_id}
        engineer = await viewer(ticket.number, live.key["engineer_acme"])
        seen = {engineer: await _synced(engineer)}
        await _stream(live, ticket, words[:2], start=True, **draft)

        # The engineer's other device, opened mid-draft: the draft so far.
        other_device = await viewer(ticket.number, live.key["engineer_acme"])
        seen[other_device] = await _synced(other_device)
        assert [f["delta"] for f in seen[other_device] if f["type"] == "stream.chunk"] == ["".join(words[:2])]
        # Everyone else on the ticket, opened mid-draft: nothing of it in their catch-up.
        others = {}
        for who in ("engineer_all", "acme_staff", "acme_admin"):
            socket = await viewer(ticket.number, live.key[who])
            others[socket] = await _synced(socket)
            assert not _streamed(others[socket])
        # Nor through a chunk they cannot place (a frame naming the draft's stream, sent to
        # everyone's group): the consumer would look the stream up, sees a draft, sends nothing.
        group = live_api.group_name(live.acme.schema_name, ticket.pk, "all")
        await get_channel_layer().group_send(group, {
            "type": "live.stream", "frame": "stream.chunk", "stream_id": "ai-7", "kind": "assistant",
            "user_id": None, "attempt": 1, "offset": 6, "end": 12, "delta": "Alice,",
        })  # fmt: skip
        await _stream(live, ticket, words[2:], close=True, **draft)

        for socket, frames in seen.items():
            frames = _streamed(frames + await frames_for(socket, 0.7))
            page = Page()
            for frame in frames:
                page.apply(frame)
            assert page.text("ai-7") == "".join(words) and _units_sent(frames) == len("".join(words))
        for socket, frames in others.items():
            frames += await frames_for(socket, 0.3)
            assert not _streamed(frames)
            assert "VPN lease" not in str(frames) and "Alice," not in str(frames)
        # A user of another site, or of none: refused before any catch-up.
        for who in ("globex_staff", "outsider"):
            refused = await open_socket(ticket.number, live.key[who])
            assert await close_code(refused) == 4404
        for socket in [*seen, *others]:
            await socket.disconnect()

    run(scenario)


# --- where the text so far is kept -----------------------------------------------------------


def test_the_text_so_far_is_kept_per_stream_until_it_ends(store, monkeypatch):
    ticket, other_ticket = 900_001, 900_002
    assert streams.stream_list("s_a", ticket) == []
    assert streams.stream_begin("s_a", ticket, "ai-1", kind="assistant", user_id=None) == 1
    assert streams.stream_begin("s_a", ticket, "ai-2", kind="draft", user_id=42) == 1
    for piece in ("Restart ", "the 🔌 ", "client."):
        streams.stream_append("s_a", ticket, "ai-1", piece)
    streams.stream_append("s_a", ticket, "ai-2", "Hello")
    assert streams.stream_get("s_a", ticket, "ai-1") == streams.OpenStream(
        stream_id="ai-1", kind="assistant", user_id=None, attempt=1, text="Restart the 🔌 client."
    )
    assert [(s.stream_id, s.kind, s.user_id, s.text) for s in streams.stream_list("s_a", ticket)] == [
        ("ai-1", "assistant", None, "Restart the 🔌 client."),
        ("ai-2", "draft", 42, "Hello"),
    ]
    # Another ticket, another site: nothing of it.
    assert streams.stream_list("s_a", other_ticket) == [] and streams.stream_list("s_b", ticket) == []
    assert streams.stream_get("s_b", ticket, "ai-1") is None
    # A fresh start: the next attempt, empty.
    assert streams.stream_begin("s_a", ticket, "ai-1", kind="assistant", user_id=None) == 2
    assert streams.stream_get("s_a", ticket, "ai-1").text == ""
    streams.stream_end("s_a", ticket, "ai-1")
    assert streams.stream_get("s_a", ticket, "ai-1") is None
    assert [s.stream_id for s in streams.stream_list("s_a", ticket)] == ["ai-2"]
    assert streams.utf16_len("the 🔌") == 6  # as JavaScript counts it

    # A stream nobody writes to for STREAM_TTL_SECONDS is gone (its worker died).
    if store == "redis":
        import redis

        client = redis.Redis.from_url(STREAM_REDIS_URL)
        keys = client.keys(f"td:live:stream:s_a:{ticket}*")
        assert len(keys) == 3 and all(0 < client.ttl(key) <= streams.STREAM_TTL_SECONDS for key in keys)
        for key in keys:
            client.expire(key, 1)
        time.sleep(1.2)
    else:
        later = time.monotonic() + streams.STREAM_TTL_SECONDS + 1
        monkeypatch.setattr(streams, "time", SimpleNamespace(monotonic=lambda: later))
    assert streams.stream_get("s_a", ticket, "ai-2") is None and streams.stream_list("s_a", ticket) == []
