"""The live ticket thread: one websocket per open ticket page, at /ws/tickets/<number>/.

The protocol (frame types) and the close codes are in docs/architecture.md, "Live ticket threads".
`scope["tenant"]` comes from `TenantWebsocketMiddleware`, `scope["user"]` from Django's session
(`AuthMiddlewareStack`). Every database call runs in a worker thread inside
`tenant_context(scope["tenant"])`: django-tenants keeps the schema on the thread's connection, and
the thread is shared by every socket of the process.

Access is the ticket page's: `site_role_for` (the tenant-access middleware's rule) and
`ticket_get_for` (the page's selector), checked on connect, again before each catch-up and each
message written, so a person who lost access stops being served.

Streamed AI text: each chunk says at which `offset` of the text it starts; the consumer tracks
how far each of its sockets got, per stream, and sends a socket that would miss text (it joined
mid-stream, or the layer dropped frames for it) the text so far instead, once, from `streams.py`
(`sync`, the page's catch-up on every (re)connect, does the same for every open stream). So a
late page shows all of the text, and only the sockets that need it get more than the new part.
"""

import json
import logging
import sys
import time

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django_tenants.utils import tenant_context

from shared_apps.tenancy.asgi import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND
from tenant_apps.tickets import live, presence, selectors, services, streams

logger = logging.getLogger(__name__)

CLOSE_BAD_FRAME = 4400
CLOSE_LOGIN = 4401
CLOSE_TOO_LARGE = 4413
CLOSE_TOO_FAST = 4429
ENGINEER = "engineer"

# Every frame a socket sends costs a token; a socket keeps sending faster than the refill rate
# only until the bucket is empty, then it is closed (4429). Messages have their own, per-person
# limit on top (settings.LIVE_MESSAGES_PER_MINUTE), answered with an error frame.
FRAME_BURST = 30
FRAME_REFILL_PER_SECOND = 3.0
TYPING_EVERY_SECONDS = 2.0


class _NoAccess(Exception):
    def __init__(self, code: int):
        self.code = code


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other websocket path: accept, then close 4404."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class TicketConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message):
        """Channels runs `close_old_connections` in the shared sync thread before every handler: one
        thread hop per message per socket, so 50 hops (queued behind the database work) to fan one
        message out to 50 viewers. Every database call here goes through
        `database_sync_to_async`, which closes old connections itself, so skip that hop."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.ready = False
        # Accept first: a close code sent after accept reaches the page (a refused handshake is
        # only "1006" there), and the page decides from it whether reconnecting makes sense.
        await self.accept()
        self.user = self.scope.get("user")
        self.tenant = self.scope["tenant"]
        if self.user is None or not self.user.is_authenticated:
            return await self.close(code=CLOSE_LOGIN)
        self.number = self.scope["url_route"]["kwargs"]["number"]
        try:
            self.role, self.ticket_id = await self._access()
        except _NoAccess as refusal:
            return await self.close(code=refusal.code)
        self.schema = self.tenant.schema_name
        self.groups_joined = [live.group_name(self.schema, self.ticket_id, "all"), self._user_group()]
        if self.role == ENGINEER:
            self.groups_joined.append(live.group_name(self.schema, self.ticket_id, "eng"))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        # Ids of the messages this socket was sent, live or in a catch-up: none is sent twice.
        self.sent_ids: set[int] = set()
        # Per stream id, (attempt, length) of the streamed text this socket was sent (UTF-16 units).
        self.stream_at: dict[str, tuple[int, int]] = {}
        self.synced = False  # the page's first `sync` (it sends one on every connect) came
        self.tokens, self.tokens_at = float(FRAME_BURST), time.monotonic()
        self.typing_at = 0.0
        self.ready = True
        await self.send_json({
            "type": "ready",
            "user_id": self.user.pk,
            "engineer": self.role == ENGINEER,
            "max_frame_bytes": settings.LIVE_FRAME_MAX_BYTES,
            "messages_per_minute": settings.LIVE_MESSAGES_PER_MINUTE,
        })  # fmt: skip
        await self._presence(presence.presence_touch, viewer=self._viewer(), always_tell_me=True)

    async def disconnect(self, code):
        if not getattr(self, "ready", False):
            return
        self.ready = False
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self._presence(presence.presence_leave)

    # --- what the page sends ---------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if not self.ready:
            return
        if bytes_data is not None or text_data is None:
            return await self._refuse(CLOSE_BAD_FRAME, "bad_frame", "Send JSON text frames.")
        if len(text_data) > settings.LIVE_FRAME_MAX_BYTES or len(text_data.encode()) > settings.LIVE_FRAME_MAX_BYTES:
            return await self._refuse(
                CLOSE_TOO_LARGE, "too_large", f"Frames are limited to {settings.LIVE_FRAME_MAX_BYTES:,} bytes."
            )
        if not self._take_token():
            return await self._refuse(CLOSE_TOO_FAST, "too_fast", "Too many frames; reconnect in a moment.")
        try:
            frame = json.loads(text_data)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            return await self.send_json({"type": "error", "code": "bad_frame", "detail": "Send a JSON object."})
        handler = {
            "sync": self._on_sync,
            "message": self._on_message,
            "typing": self._on_typing,
            "ping": self._on_ping,
        }.get(frame.get("type"))
        if handler is None:
            return await self.send_json({"type": "error", "code": "bad_frame", "detail": "Unknown frame type."})
        await handler(frame)

    async def _on_sync(self, frame):
        after, after_event = _int(frame.get("after")), _int(frame.get("after_event"))
        try:
            frames, more = await self._catch_up(after, after_event)
        except _NoAccess as refusal:
            return await self.close(code=refusal.code)
        # The text so far of the streams still open, before the messages: an AI message in the
        # catch-up then takes its provisional bubble's place, as it does live.
        for stream in await self._stream_store(streams.stream_list, self.schema, self.ticket_id) or []:
            if self._may_see_stream(stream.kind, stream.user_id):
                await self._send_stream_text(stream)
        self.synced = True
        for item in frames:
            if item["type"] == "message":
                if item["id"] in self.sent_ids:
                    continue
                self.sent_ids.add(item["id"])
            await self.send_json(item)
        await self.send_json({"type": "synced", "more": more})

    async def _on_message(self, frame):
        client_id = str(frame.get("client_id", ""))[:64]
        body, internal = frame.get("body"), bool(frame.get("internal"))
        if not isinstance(body, str):
            return await self._error("invalid", "Write something first.", client_id)
        retry_after = await sync_to_async(_rate_limited, thread_sensitive=False)(self.schema, self.user.pk)
        if retry_after:
            return await self._error(
                "rate_limited",
                f"You are sending messages very fast; wait {retry_after} s.",
                client_id,
                retry_after=retry_after,
            )
        try:
            message_id = await self._reply(body, internal)
        except _NoAccess as refusal:
            return await self.close(code=refusal.code)
        except ValidationError as error:
            return await self._error("invalid", " ".join(error.messages), client_id)
        except PermissionDenied as error:
            return await self._error("forbidden", str(error) or "You cannot do that.", client_id)
        await self.send_json({"type": "ack", "client_id": client_id, "message_id": message_id})

    async def _on_typing(self, frame):
        now = time.monotonic()
        if now - self.typing_at < TYPING_EVERY_SECONDS:
            return
        self.typing_at = now
        internal = bool(frame.get("internal")) and self.role == ENGINEER
        audience = "eng" if internal else "all"
        await self.channel_layer.group_send(
            live.group_name(self.schema, self.ticket_id, audience),
            {"type": "live.typing", "user_id": self.user.pk, "name": self._viewer()["name"]},
        )

    async def _on_ping(self, frame):
        await self._presence(presence.presence_touch, viewer=self._viewer())
        await self.send_json({"type": "pong"})

    # --- what the channel layer brings ------------------------------------------------------

    async def live_message(self, event):
        if not self.ready or (event["kind"] == "internal" and self.role != ENGINEER):
            return
        if event["id"] in self.sent_ids:  # already sent by a catch-up
            return
        self.sent_ids.add(event["id"])
        engineer_text = event.get("text_eng") if self.role == ENGINEER else None
        await self.send(text_data=engineer_text or event["text"])

    async def live_event(self, event):
        if not self.ready or (event["kind"] == "note" and self.role != ENGINEER):
            return
        await self.send_json({**event, "type": "event"})

    async def live_typing(self, event):
        if self.ready and event["user_id"] != self.user.pk:
            await self.send_json({"type": "typing", "user_id": event["user_id"], "name": event["name"]})

    async def live_presence(self, event):
        if self.ready:
            await self.send_json({"type": "presence", "viewers": event["viewers"]})

    async def live_stream(self, event):
        if not self.ready or not self._may_see_stream(event["kind"], event.get("user_id")):
            return
        stream_id, attempt = event["stream_id"], event.get("attempt", 1)
        have = self.stream_at.get(stream_id)
        if event["frame"] == "stream.open":
            if have is not None and have[0] >= attempt:
                return  # a catch-up sent this attempt already
            self.stream_at[stream_id] = (attempt, 0)
        elif event["frame"] == "stream.chunk" and "end" in event:  # (a worker before offsets sends none)
            if have is None or have[0] < attempt:
                have = (attempt, 0)
            if have[0] > attempt or event["end"] <= have[1]:
                return  # an earlier attempt's rest, or text a catch-up sent already
            if event["offset"] != have[1]:
                # This socket missed text. Before the page's first `sync`, that catch-up sends
                # the text so far (it is kept before its chunk goes out); after it, send it now.
                if self.synced:
                    stream = await self._stream_store(streams.stream_get, self.schema, self.ticket_id, stream_id)
                    await self._send_stream_text(stream, stream_id=stream_id, attempt=attempt)
                return
            self.stream_at[stream_id] = (attempt, event["end"])
        elif event["frame"] == "stream.close":
            self.stream_at.pop(stream_id, None)
        frame = {key: value for key, value in event.items() if key not in ("type", "frame", "user_id", "end")}
        await self.send_json({**frame, "type": event["frame"]})

    # --- helpers ----------------------------------------------------------------------------

    def _may_see_stream(self, kind: str, user_id: int | None) -> bool:
        """An assistant answer: everyone on the ticket. A draft: only the engineer who asked."""
        return kind != "draft" or (self.role == ENGINEER and user_id == self.user.pk)

    async def _stream_store(self, read, *args):
        try:
            return await sync_to_async(read, thread_sensitive=False)(*args)
        except Exception:  # the live text is a preview: without it the page still gets the message
            logger.exception("streamed text for ticket %s not read", self.ticket_id)
            return None

    async def _send_stream_text(self, stream, *, stream_id: str = "", attempt: int = 0):
        """Send a stream's text so far as one chunk at offset 0 (after its `stream.open`), or, if
        it is gone or not this user's to see, skip the rest of that attempt's chunks."""
        if stream is None or not self._may_see_stream(stream.kind, stream.user_id):
            self.stream_at[stream_id] = (attempt, sys.maxsize)  # until a new attempt or the close
            return
        self.stream_at[stream.stream_id] = (stream.attempt, streams.utf16_len(stream.text))
        head = {"stream_id": stream.stream_id, "kind": stream.kind, "attempt": stream.attempt}
        await self.send_json({"type": "stream.open", **head})
        if stream.text:
            await self.send_json({"type": "stream.chunk", **head, "offset": 0, "delta": stream.text})

    def _user_group(self) -> str:
        return live.group_name(self.schema, self.ticket_id, f"u{self.user.pk}")

    def _viewer(self) -> dict:
        name = self.user.display_name or self.user.email
        return {"id": self.user.pk, "name": name, "engineer": self.role == ENGINEER}

    def _take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(FRAME_BURST, self.tokens + (now - self.tokens_at) * FRAME_REFILL_PER_SECOND)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def _refuse(self, code: int, error: str, detail: str):
        await self.send_json({"type": "error", "code": error, "detail": detail})
        await self.close(code=code)

    async def _error(self, code: str, detail: str, client_id: str = "", **extra):
        await self.send_json({"type": "error", "code": code, "detail": detail, "client_id": client_id, **extra})

    async def _presence(self, change, *, always_tell_me: bool = False, **kwargs):
        viewers, changed = await sync_to_async(change, thread_sensitive=False)(
            self.schema, self.ticket_id, channel=self.channel_name, **kwargs
        )
        if changed:
            await self.channel_layer.group_send(
                live.group_name(self.schema, self.ticket_id, "all"), {"type": "live.presence", "viewers": viewers}
            )
        elif always_tell_me:
            await self.send_json({"type": "presence", "viewers": viewers})

    def _ticket(self):
        """The ticket as the page's selector gives it to this user now; raises _NoAccess."""
        from shared_apps.tenancy.selectors import site_role_for

        if self.tenant.is_suspended:
            raise _NoAccess(CLOSE_FORBIDDEN)
        role = site_role_for(user=self.user, client=self.tenant)
        if role is None:  # not on this site: the same answer as a site that does not exist
            raise _NoAccess(CLOSE_NOT_FOUND)
        try:
            return role, selectors.ticket_get_for(user=self.user, role=role, number=self.number)
        except Http404:
            raise _NoAccess(CLOSE_NOT_FOUND) from None

    @database_sync_to_async
    def _access(self):
        with tenant_context(self.tenant):
            role, ticket = self._ticket()
            return role, ticket.pk

    @database_sync_to_async
    def _catch_up(self, after: int, after_event: int):
        with tenant_context(self.tenant):
            self.role, ticket = self._ticket()
            found = selectors.live_catch_up_for(ticket=ticket, role=self.role, after=after, after_event=after_event)
            for row in (*found["messages"], *found["events"]):
                row.ticket = ticket
            engineer = self.role == ENGINEER
            frames = [live.message_frame(message, engineer=engineer) for message in found["messages"]]
            frames += [live.event_frame(event) for event in found["events"]]
            return frames, found["more"]

    @database_sync_to_async
    def _reply(self, body: str, internal: bool) -> int:
        with tenant_context(self.tenant):
            self.role, ticket = self._ticket()
            user, role = self.user, self.role
            return services.ticket_reply(ticket=ticket, actor=user, role=role, body=body, internal=internal).pk


def _int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _rate_limited(schema: str, user_id: int) -> int:
    """Count a message against the person's per-minute budget on this site (shared by all their
    sockets and processes through the default cache); returns seconds to wait, 0 if allowed."""
    now = time.time()
    window = int(now // 60)
    key = f"live:rate:{schema}:{user_id}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > settings.LIVE_MESSAGES_PER_MINUTE:
        return max(1, int(60 - now % 60))
    return 0
