"""The text so far of the AI streams still being written on a ticket, so that a socket joining
mid-stream (a page opened late, a reconnect, a socket that lost frames) is sent all of it once
and then only the live chunks (`live.py` writes here, `consumers.py` reads; docs/architecture.md,
"Live ticket threads").

The worker streaming an answer holds its unsent text in its own process (`live._pending`), and
the web processes serving the sockets are other processes: so every flush is appended here
before its frame goes out, and whatever a socket was sent live is in here too.

- With REDIS_URL: Redis, one pipelined round trip per flush. The text is an APPEND-ed string, so
  a long answer costs its length once, not its length at every flush. Per stream a hash (kind,
  user id, attempt) and the text; per ticket a set of its open stream ids.
- Without: this process's memory, which is where everything runs then (Celery tasks eagerly, the
  in-memory channel layer: one process).

A stream not written to for STREAM_TTL_SECONDS is dropped (its worker died; an AI request pending
that long counts as stale too: `ai.services.answer_request`). `attempt` counts the stream's
(re)starts: a model that fails over to the offline one starts again from an empty text.

Lengths and offsets are in UTF-16 code units: the unit of a JavaScript string's `length`, which
the page compares them with.
"""

import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

STREAM_TTL_SECONDS = 120


@dataclass(frozen=True)
class OpenStream:
    stream_id: str
    kind: str  # assistant | draft (who may see it: consumers.TicketConsumer._may_see_stream)
    user_id: int | None
    attempt: int
    text: str


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def stream_begin(schema: str, ticket_id: int, stream_id: str, *, kind: str, user_id: int | None) -> int:
    """Start (or restart, with an empty text) a stream; returns its attempt number (1, 2...)."""
    return _store().begin(schema, ticket_id, stream_id, kind, user_id)


def stream_append(schema: str, ticket_id: int, stream_id: str, text: str) -> None:
    _store().append(schema, ticket_id, stream_id, text)


def stream_end(schema: str, ticket_id: int, stream_id: str) -> None:
    _store().end(schema, ticket_id, stream_id)


def stream_get(schema: str, ticket_id: int, stream_id: str) -> OpenStream | None:
    """One open stream with its text so far (None once it ended). Say who may see it yourself."""
    return _store().get(schema, ticket_id, stream_id)


def stream_list(schema: str, ticket_id: int) -> list[OpenStream]:
    """The ticket's open streams (every kind and person: filter by who may see them)."""
    return _store().open_streams(schema, ticket_id)


def _store():
    url = settings.REDIS_URL
    if not url:
        return _memory
    store = _redis_stores.get(url)
    if store is None:
        store = _redis_stores[url] = _RedisStore(url)
    return store


# --- Redis -----------------------------------------------------------------------------------


class _RedisStore:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)

    @staticmethod
    def _keys(schema: str, ticket_id: int, stream_id: str) -> tuple[str, str, str]:
        index = f"td:live:stream:{schema}:{ticket_id}"
        return index, f"{index}:{stream_id}", f"{index}:{stream_id}:text"

    def begin(self, schema, ticket_id, stream_id, kind, user_id) -> int:
        index, meta, text = self._keys(schema, ticket_id, stream_id)
        pipe = self.client.pipeline()  # MULTI/EXEC: a reader sees the old attempt or the new one
        pipe.hincrby(meta, "attempt", 1)
        pipe.hset(meta, mapping={"kind": kind, "user_id": "" if user_id is None else str(user_id)})
        pipe.set(text, "", ex=STREAM_TTL_SECONDS)
        pipe.expire(meta, STREAM_TTL_SECONDS)
        pipe.sadd(index, stream_id)
        pipe.expire(index, STREAM_TTL_SECONDS)
        return int(pipe.execute()[0])

    def append(self, schema, ticket_id, stream_id, text) -> None:
        index, meta, text_key = self._keys(schema, ticket_id, stream_id)
        pipe = self.client.pipeline(transaction=False)  # one writer per stream
        pipe.append(text_key, text)
        for key in (text_key, meta, index):
            pipe.expire(key, STREAM_TTL_SECONDS)
        pipe.execute()

    def end(self, schema, ticket_id, stream_id) -> None:
        index, meta, text = self._keys(schema, ticket_id, stream_id)
        pipe = self.client.pipeline()
        pipe.srem(index, stream_id)
        pipe.delete(meta, text)
        pipe.execute()

    def get(self, schema, ticket_id, stream_id) -> OpenStream | None:
        return self._read(schema, ticket_id, [stream_id])[0]

    def open_streams(self, schema, ticket_id) -> list[OpenStream]:
        index = self._keys(schema, ticket_id, "")[0]
        ids = sorted(member.decode() for member in self.client.smembers(index))
        found = self._read(schema, ticket_id, ids)
        gone = [stream_id for stream_id, stream in zip(ids, found, strict=True) if stream is None]
        if gone:  # expired: its worker died without ending it
            self.client.srem(index, *gone)
        return [stream for stream in found if stream is not None]

    def _read(self, schema, ticket_id, ids: list[str]) -> list[OpenStream | None]:
        if not ids:
            return []
        pipe = self.client.pipeline()  # MULTI/EXEC: a stream's attempt and text read together
        for stream_id in ids:
            _, meta, text = self._keys(schema, ticket_id, stream_id)
            pipe.hgetall(meta)
            pipe.get(text)
        replies = pipe.execute()
        found: list[OpenStream | None] = []
        for stream_id, fields, text in zip(ids, replies[::2], replies[1::2], strict=True):
            if not fields or text is None:
                found.append(None)
                continue
            user_id = fields.get(b"user_id", b"").decode()
            found.append(OpenStream(stream_id=stream_id, kind=fields[b"kind"].decode(),
                                    user_id=int(user_id) if user_id else None,
                                    attempt=int(fields[b"attempt"]), text=text.decode()))  # fmt: skip
        return found


_redis_stores: dict[str, _RedisStore] = {}


# --- this process ----------------------------------------------------------------------------


class _MemoryStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.tickets: dict[tuple[str, int], dict[str, dict]] = {}

    def _streams(self, schema, ticket_id, *, create: bool = False) -> dict[str, dict]:
        """The ticket's live streams (expired ones dropped); a ticket without any keeps no entry."""
        key = (schema, ticket_id)
        streams = self.tickets.get(key, {})
        now = time.monotonic()
        for stream_id in [stream_id for stream_id, entry in streams.items() if entry["until"] <= now]:
            del streams[stream_id]
        if streams or create:
            self.tickets[key] = streams
        else:
            self.tickets.pop(key, None)
        return streams

    def begin(self, schema, ticket_id, stream_id, kind, user_id) -> int:
        with self.lock:
            streams = self._streams(schema, ticket_id, create=True)
            attempt = streams[stream_id]["attempt"] + 1 if stream_id in streams else 1
            streams[stream_id] = {"kind": kind, "user_id": user_id, "attempt": attempt, "pieces": [],
                                  "until": time.monotonic() + STREAM_TTL_SECONDS}  # fmt: skip
            return attempt

    def append(self, schema, ticket_id, stream_id, text) -> None:
        with self.lock:
            entry = self._streams(schema, ticket_id).get(stream_id)
            if entry is not None:
                entry["pieces"].append(text)
                entry["until"] = time.monotonic() + STREAM_TTL_SECONDS

    def end(self, schema, ticket_id, stream_id) -> None:
        with self.lock:
            self._streams(schema, ticket_id).pop(stream_id, None)
            self._streams(schema, ticket_id)  # forget the ticket if that was its last stream

    def get(self, schema, ticket_id, stream_id) -> OpenStream | None:
        with self.lock:
            entry = self._streams(schema, ticket_id).get(stream_id)
            return None if entry is None else self._open_stream(stream_id, entry)

    def open_streams(self, schema, ticket_id) -> list[OpenStream]:
        with self.lock:
            streams = self._streams(schema, ticket_id)
            return [self._open_stream(stream_id, streams[stream_id]) for stream_id in sorted(streams)]

    @staticmethod
    def _open_stream(stream_id: str, entry: dict) -> OpenStream:
        text = entry["pieces"] = ["".join(entry["pieces"])]
        return OpenStream(stream_id=stream_id, kind=entry["kind"], user_id=entry["user_id"],
                          attempt=entry["attempt"], text=text[0])  # fmt: skip


_memory = _MemoryStore()
