"""Helpers for the live-thread tests: real sessions, real commits, Channels' WebsocketCommunicator
(the `live` fixture is in conftest.py).

The consumer's database calls run in asgiref's one shared worker thread with a connection of its
own (the tests drive the socket with `asyncio.run`, as a server would), so what they read and
write is committed, and on-commit broadcasts really happen. The fixtures put the sites back
afterwards (tickets deleted, counters restored), as the browser tests do.
"""

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from django_tenants.utils import tenant_context

from tenant_apps.tickets import services
from tests.conftest import ACME_HOST

TIMEOUT = 10


def session_for(user) -> str:
    """A real session row for `user` (the cookie a browser would send); returns its key."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


async def open_socket(number: int, session_key: str | None, *, host: str = ACME_HOST, origin: str | None = None,
                      path: str | None = None) -> WebsocketCommunicator:  # fmt: skip
    from saas.asgi import application

    headers = [(b"host", host.encode())]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    socket = WebsocketCommunicator(application, path or f"/ws/tickets/{number}/", headers=headers)
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected  # refusals are sent after accept, with a close code
    return socket


async def viewer(number: int, session_key: str, **kwargs) -> WebsocketCommunicator:
    """An accepted socket, past its `ready` frame."""
    socket = await open_socket(number, session_key, **kwargs)
    ready = await socket.receive_json_from(timeout=TIMEOUT)
    assert ready["type"] == "ready", ready
    return socket


async def close_code(socket: WebsocketCommunicator) -> int:
    """The code the server closed the socket with (frames sent before it are skipped)."""
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output.get("code", 1000)


async def next_frame(socket: WebsocketCommunicator, *types: str, timeout: float = TIMEOUT) -> dict:
    """The next frame of one of `types`, skipping the others (presence, typing...)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await socket.receive_json_from(timeout=max(0.05, deadline - time.monotonic()))
        if frame["type"] in types:
            return frame


async def frames_for(socket: WebsocketCommunicator, seconds: float) -> list[dict]:
    """Every frame that arrives within `seconds` (without cancelling the application, which a
    timed-out `receive_json_from` would do)."""
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await socket.receive_nothing(timeout=min(left, 0.05), interval=0.01):
            continue
        frames.append(await socket.receive_json_from(timeout=TIMEOUT))
    return frames


def in_site(site, work):
    """Run `work()` in the consumers' worker thread, in `site`'s schema, committed."""

    def run():
        with tenant_context(site):
            return work()

    return database_sync_to_async(run)()


async def close_worker_connections() -> None:
    await sync_to_async(connections.close_all, thread_sensitive=True)()


def run(scenario):
    """Run an async test scenario as a server would (its own event loop), then close the
    database connections of the consumers' worker thread."""

    async def wrapped():
        try:
            await scenario()
        finally:
            await close_worker_connections()

    asyncio.run(wrapped())


def ticket_created(live, requester="acme_staff", subject="VPN drops every hour"):
    """A new ticket on acme, committed (awaitable)."""
    user = live.users[requester]
    return in_site(
        live.acme, lambda: services.ticket_create(requester=user, subject=subject, description="<p>Since Monday.</p>")
    )
