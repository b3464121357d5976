"""Who is viewing a ticket now, shared by every web process through the default cache (Redis when
REDIS_URL is set).

One cache entry per ticket holds the open sockets (channel name -> viewer and an expiry time).
A socket is refreshed when it connects and on each ping the page sends (every 25 s); an entry not
refreshed within PRESENCE_SECONDS is dropped by the next change, so a socket whose process died
without saying goodbye disappears within a minute. Updates are read-modify-write, serialized by a
lock within a process; two processes updating the same ticket at the same instant may drop one
entry, which that socket's next ping (25 s) puts back.
"""

import threading
import time

from django.core.cache import cache

PRESENCE_SECONDS = 60


def _key(schema: str, ticket_id: int) -> str:
    return f"live:presence:{schema}:{ticket_id}"


def _viewers(sockets: dict) -> list[dict]:
    people = {entry["id"]: {k: entry[k] for k in ("id", "name", "engineer")} for entry in sockets.values()}
    return sorted(people.values(), key=lambda viewer: (viewer["name"].lower(), viewer["id"]))


_lock = threading.Lock()


def _update(schema: str, ticket_id: int, change, now: float | None = None) -> tuple[list[dict], bool]:
    with _lock:
        return _update_locked(schema, ticket_id, change, now)


def _update_locked(schema: str, ticket_id: int, change, now: float | None) -> tuple[list[dict], bool]:
    now = time.time() if now is None else now
    key = _key(schema, ticket_id)
    state = cache.get(key) or {"sockets": {}, "viewers": []}
    change(state["sockets"])
    state["sockets"] = {channel: entry for channel, entry in state["sockets"].items() if entry["until"] > now}
    viewers = _viewers(state["sockets"])
    changed = viewers != state["viewers"]
    state["viewers"] = viewers
    cache.set(key, state, PRESENCE_SECONDS * 2)
    return viewers, changed


def presence_touch(schema: str, ticket_id: int, *, channel: str, viewer: dict, now: float | None = None):
    """Add or refresh a socket; returns (viewers, whether the list changed)."""
    until = (time.time() if now is None else now) + PRESENCE_SECONDS

    def change(sockets):
        sockets[channel] = {**viewer, "until": until}

    return _update(schema, ticket_id, change, now)


def presence_leave(schema: str, ticket_id: int, *, channel: str, now: float | None = None):
    return _update(schema, ticket_id, lambda sockets: sockets.pop(channel, None), now)
