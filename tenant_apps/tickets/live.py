"""Live ticket threads: what goes out to the browsers viewing a ticket (docs/architecture.md,
"Live ticket threads", lists the frames and close codes).

Everything here is callable from sync code (views, services, Celery tasks): it renders what the
browsers will show and hands it to the channel layer with `async_to_sync(group_send)`. The
consumer (`consumers.py`) forwards it to each socket that may see it.

Groups (names carry the schema, so two sites' ticket 7 never meet):
- `ticket.<schema>.<ticket pk>.all`: every socket on the ticket (public replies, AI and system
  messages, events, presence, typing, the requester's streamed AI answer);
- `ticket.<schema>.<ticket pk>.eng`: engineers' sockets only (internal notes, typing in a note);
- `ticket.<schema>.<ticket pk>.u<user id>`: one person's sockets on the ticket (the engineer's
  streamed AI draft).

Streamed AI text is sent as chunks with an `offset`, and kept (`streams.py`) for the sockets
that join mid-stream, which the consumer sends the text so far.

The services call `broadcast_on_commit` from `_event`, the one place every ticket change passes,
so a message written by the form, the socket, a worker or the API goes out once it is committed
(never for a rolled-back write), from the schema it was written in.
"""

import json
import logging
import time
from contextlib import nullcontext
from datetime import UTC
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.tickets import streams
from tenant_apps.tickets.models import Message, Ticket, TicketEvent

logger = logging.getLogger(__name__)

STREAM_KINDS = ("assistant", "draft")
# Streamed text is sent in batches: at most one frame per stream every this many seconds (plus the
# rest at close), so a fast model does not cost one channel-layer round trip per token.
STREAM_FLUSH_SECONDS = 0.05
STREAM_FLUSH_CHARS = 400


def group_name(schema: str, ticket_id: int, audience: str) -> str:
    """`audience` is "all", "eng" or "u<user id>"."""
    return f"ticket.{schema}.{ticket_id}.{audience}"


def _send(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, payload)


# --- messages and events ---------------------------------------------------------------------


def message_html(message: Message, *, engineer: bool) -> str:
    """The card the page shows, rendered once for every viewer: in UTC (the page shows its times
    in the viewer's timezone), without a request (forms in it, like an AI message's "This solved
    it", get their CSRF token from the page: live.js)."""
    context = {"message": message, "ticket": message.ticket, "is_engineer": engineer}
    with timezone.override(UTC):
        return render_to_string("tickets/_message.html", context)


def event_html(event: TicketEvent) -> str:
    with timezone.override(UTC):
        return render_to_string("tickets/_live_event.html", {"event": event})


def message_frame(message: Message, *, engineer: bool) -> dict:
    return {
        "type": "message",
        "id": message.pk,
        "kind": message.kind,
        "author_id": message.author_id,
        "html": message_html(message, engineer=engineer),
        # A reply can move the ticket (new -> open, pending -> open): the page updates its pill.
        "status_html": render_to_string("tickets/_status.html", {"ticket": message.ticket}),
    }


def event_frame(event: TicketEvent) -> dict:
    frame = {"type": "event", "id": event.pk, "kind": event.kind, "html": event_html(event)}
    if event.kind in ("status", "merged"):
        frame["status_html"] = render_to_string("tickets/_status.html", {"ticket": event.ticket})
    return frame


def publish_message(message: Message) -> None:
    """Send a committed message to everyone on its ticket who may see it: internal notes to the
    engineers' group only, everything else to all viewers. Call it in the message's schema."""
    audience = "eng" if message.kind == Message.Kind.INTERNAL else "all"
    group = group_name(connection.schema_name, message.ticket_id, audience)
    # Encoded once here, not once per socket: the consumers pass the text on as it is. An AI
    # message's card differs for engineers (no "This solved it"), so it is rendered twice.
    text = json.dumps(message_frame(message, engineer=audience == "eng"))
    text_eng = json.dumps(message_frame(message, engineer=True)) if message.kind == Message.Kind.AI else None
    _send(group, {"type": "live.message", "id": message.pk, "kind": message.kind, "text": text, "text_eng": text_eng})


def publish_event(event: TicketEvent) -> None:
    """Send a committed event as a line in the thread (internal-note events to engineers only)."""
    audience = "eng" if event.kind == "note" else "all"
    group = group_name(connection.schema_name, event.ticket_id, audience)
    _send(group, {**event_frame(event), "type": "live.event"})


def broadcast_on_commit(event: TicketEvent) -> None:
    """The services' one hook: after the surrounding transaction commits, publish the event, or
    the message it is about (`after["message"]`). The schema is captured now, not at commit time,
    and the rows are read again then (a rolled-back write publishes nothing)."""
    schema = connection.schema_name
    message_id = (event.after or {}).get("message")
    callback = partial(_broadcast, schema, message_id, None if message_id else event.pk)
    transaction.on_commit(callback, robust=True)


def _broadcast(schema: str, message_id: int | None, event_id: int | None) -> None:
    # Usually still in that schema: then no switch (each one is a SET search_path round trip).
    with nullcontext() if connection.schema_name == schema else schema_context(schema):
        if message_id:
            message = message_get_for_live(message_id)
            if message is not None:
                publish_message(message)
        elif event_id:
            event = TicketEvent.objects.select_related("actor", "ticket").filter(pk=event_id).first()
            if event is not None:
                publish_event(event)


def message_get_for_live(message_id: int) -> Message | None:
    return (
        Message.objects.select_related("author", "ticket").prefetch_related("attachments").filter(pk=message_id).first()
    )


# --- streamed AI text ------------------------------------------------------------------------

# Per stream id (this process only; a stream lives in one task or view): the text not sent yet,
# the attempt (see streams.py), and how much of it went out (UTF-16 units: the chunks' `offset`).
_pending: dict[str, dict] = {}


def _stream_group(ticket: Ticket, kind: str, user_id: int | None) -> str:
    if kind not in STREAM_KINDS:
        raise ValueError(f"stream kind must be one of {STREAM_KINDS}, not {kind!r}")
    if kind == "draft":
        if user_id is None:
            raise ValueError("a draft stream goes to one engineer: give user_id")
        return group_name(connection.schema_name, ticket.pk, f"u{user_id}")
    return group_name(connection.schema_name, ticket.pk, "all")


def _stream_send(group: str, ticket: Ticket, payload: dict) -> None:
    try:
        _send(group, payload)
    except Exception:  # a live preview must never break the answer being written
        logger.exception("live stream frame for ticket %s not sent", ticket.pk)


def _stream_keep(change, ticket: Ticket, *args, **kwargs):
    """Record the text so far for sockets that join late (streams.py); never breaks the answer."""
    try:
        return change(connection.schema_name, ticket.pk, *args, **kwargs)
    except Exception:
        logger.exception("live stream text for ticket %s not kept", ticket.pk)
        return None


def stream_open(ticket: Ticket, *, stream_id: str, kind: str, user_id: int | None) -> None:
    """Start a provisional AI bubble ("assistant": everyone on the ticket) or the AI draft box
    ("draft": only `user_id`'s sockets, which must be an engineer's). Call in the ticket's schema.
    Opening a stream again (a fallback to another model) starts it again from an empty text."""
    group = _stream_group(ticket, kind, user_id)
    attempt = _stream_keep(streams.stream_begin, ticket, stream_id, kind=kind, user_id=user_id)
    if attempt is None:  # not kept: still tell the pages which attempt this is
        attempt = _pending.get(stream_id, {}).get("attempt", 0) + 1
    _pending[stream_id] = {"text": "", "sent_at": time.monotonic(), "offset": 0, "attempt": attempt}
    _stream_send(group, ticket, {"type": "live.stream", "frame": "stream.open", "stream_id": stream_id,
                                 "kind": kind, "user_id": user_id, "attempt": attempt})  # fmt: skip


def stream_chunk(ticket: Ticket, *, stream_id: str, delta: str, kind: str, user_id: int | None) -> None:
    """Append plain text (shown as text, never as HTML). Batched: see STREAM_FLUSH_SECONDS."""
    state = _pending.setdefault(stream_id, {"text": "", "sent_at": 0.0, "offset": 0, "attempt": 1})
    state["text"] += delta
    now = time.monotonic()
    if now - state["sent_at"] >= STREAM_FLUSH_SECONDS or len(state["text"]) >= STREAM_FLUSH_CHARS:
        _stream_flush(ticket, stream_id=stream_id, kind=kind, user_id=user_id, now=now)


def _stream_flush(ticket, *, stream_id: str, kind: str, user_id: int | None, now: float) -> None:
    """Send the text not sent yet as one chunk, with the `offset` it starts at: a socket that has
    less than that missed some (it joined late), and is sent the text so far instead (the
    consumer), which is why the text is kept before its frame goes out."""
    state = _pending.get(stream_id)
    if not state or not state["text"]:
        return
    group = _stream_group(ticket, kind, user_id)
    text, state["text"], state["sent_at"] = state["text"], "", now
    offset = state["offset"]
    state["offset"] += streams.utf16_len(text)
    _stream_keep(streams.stream_append, ticket, stream_id, text)
    _stream_send(group, ticket, {"type": "live.stream", "frame": "stream.chunk", "stream_id": stream_id,
                                 "kind": kind, "user_id": user_id, "attempt": state["attempt"],
                                 "offset": offset, "end": state["offset"], "delta": text})  # fmt: skip


def stream_close(
    ticket: Ticket,
    *,
    stream_id: str,
    kind: str,
    user_id: int | None,
    message_id: int | None = None,
    error: str = "",
) -> None:
    """End the stream: sends what is left, then `stream.close`. With `message_id`, the browser
    replaces the provisional bubble by that message when its `message` frame arrives (before or
    after this one); with `error`, the bubble says so."""
    group = _stream_group(ticket, kind, user_id)
    _stream_flush(ticket, stream_id=stream_id, kind=kind, user_id=user_id, now=time.monotonic())
    _pending.pop(stream_id, None)
    _stream_keep(streams.stream_end, ticket, stream_id)
    _stream_send(group, ticket, {"type": "live.stream", "frame": "stream.close", "stream_id": stream_id,
                                 "kind": kind, "user_id": user_id, "message_id": message_id,
                                 "error": error[:300]})  # fmt: skip
