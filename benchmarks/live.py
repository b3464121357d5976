"""Live ticket thread benchmark: send-to-receipt latency of a message for 50 connected viewers of
one ticket (default `--viewers 50`), through a real uvicorn and the Redis channel layer, on
loopback.

What is timed: a sender's socket sends `{"type": "message", ...}`; the server runs
`services.ticket_reply` (row lock, message, event, search vector, cross-site index; commit), the
on-commit hook renders the message partial and `group_send`s it through Redis, and each of the
viewers' sockets receives its `message` frame. One sample = (time the viewer's client read the
frame) - (time just before the sender wrote its frame), per message and viewer, all on this
machine's monotonic clock. Messages are sent one at a time (`--runs`, default 200, after
`--warmup` 10 not counted); the next is sent 20 ms after every viewer got the previous one.
Reported: median, p95, max over all samples, the same for the slowest viewer of each message
(when the last of the 50 had it), and for the sender's `ack` (sent once the service returned,
after the commit and the on-commit publish: the part that does not depend on the viewers).

Set-up: DATABASE_URL (a database of its own: it is created if missing, migrated, and the demo
runs there once) and REDIS_URL (the channel layer and cache of the server). The viewers are
sockets of alice (the requester, staff) and ben (engineer covering acme), half each, with real
session rows; the messages are sent by ben, from 10 more sockets in turn (one socket may send
3 frames a second in the long run). One uvicorn process, started here, `DEBUG=0`, serves them (the
CPU is shared with this client process and PostgreSQL and Redis, which run on the same machine).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_livebench \\
           REDIS_URL=redis://127.0.0.1:6379/7
    .venv/bin/python -m benchmarks.live [--viewers 50] [--runs 200]
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
# Run as a script, this folder would come first on sys.path and its queue.py shadow the stdlib's.
sys.path[:] = [str(BASE_DIR), *(p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "benchmarks")]


SENDERS = 10


def log(text: str = "") -> None:
    print(text, flush=True)


def database_ensure(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def data_prepare():
    """The demo's acme site, a fresh ticket of alice's, session keys for alice and ben."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import cache
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services

    call_command("migrate", verbosity=0, interactive=False)
    # REDIS_URL's database also holds the cache: drop host -> site entries another database left.
    cache.clear()
    if not Client.objects.filter(subdomain="acme").exists():
        call_command("demo", verbosity=0)
    site = Client.objects.get(subdomain="acme")
    alice = User.objects.get(email__startswith="alice@")
    ben = User.objects.get(email__startswith="ben@")
    with tenant_context(site):
        ticket = services.ticket_create(
            requester=alice, subject=f"Live benchmark {time.strftime('%H:%M:%S')}", description="<p>bench</p>"
        )

    def session(user) -> str:
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    return site, ticket.number, session(alice), session(ben)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(port: int, profile: str = ""):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SITE_SCHEME": "http",
        "LOG_LEVEL": "WARNING",
        "LIVE_MESSAGES_PER_MINUTE": "1000000",  # the benchmark sends faster than a person may
    }
    cmd = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else [])]
    cmd += ["-m", "uvicorn", "saas.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--lifespan", "off", "--no-access-log"]
    log_file = tempfile.TemporaryFile(mode="w+b")
    server = subprocess.Popen(cmd, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    import http.client

    from django.conf import settings

    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            log_file.seek(0)
            raise SystemExit("uvicorn did not start:\n" + log_file.read().decode(errors="replace")[-4000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": settings.ROOT_DOMAIN})
            if conn.getresponse().status == 200:
                server.log_file = log_file
                return server
        except OSError:
            time.sleep(0.2)


async def measure(args, port: int, number: int, alice: str, ben: str) -> tuple[list[float], list[float]]:
    import websockets
    from django.conf import settings

    host = f"acme.{settings.ROOT_DOMAIN}:{port}"
    uri = f"ws://{host}/ws/tickets/{number}/"

    async def open_socket(session_key: str):
        ws = await websockets.connect(
            uri,
            host="127.0.0.1",
            port=port,
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
            max_size=2**22,
        )
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        return ws

    received: dict[int, list[float]] = {}
    everyone: dict[int, asyncio.Event] = {}
    pattern = re.compile(r"bench-(\d+)-end")

    async def read(ws):
        async for raw in ws:
            now = time.perf_counter()
            if '"type": "message"' not in raw and '"type":"message"' not in raw:
                continue
            match = pattern.search(raw)
            if match:
                n = int(match.group(1))
                received.setdefault(n, []).append(now)
                if len(received[n]) == args.viewers:
                    everyone[n].set()

    viewers = []
    for i in range(args.viewers):
        viewers.append(await open_socket(alice if i % 2 == 0 else ben))
    # Several sender sockets, used in turn: one socket may send at most 3 frames a second in the
    # long run (consumers.FRAME_REFILL_PER_SECOND), and the benchmark sends faster than that.
    senders = [await open_socket(ben) for _ in range(SENDERS)]
    readers = [asyncio.create_task(read(ws)) for ws in viewers]
    acks: dict[int, float] = {}
    sender_readers = [asyncio.create_task(sender_drain(ws, acks)) for ws in senders]
    log(f"{len(viewers)} viewers connected (+{SENDERS} sender sockets)")

    samples, slowest, sent_at = [], [], {}
    for n in range(args.warmup + args.runs):
        everyone[n] = asyncio.Event()
        frame = json.dumps({"type": "message", "body": f"<p>bench-{n}-end</p>", "client_id": str(n)})
        sent = time.perf_counter()
        await senders[n % SENDERS].send(frame)
        try:
            await asyncio.wait_for(everyone[n].wait(), timeout=10)
        except TimeoutError:
            log(f"message {n}: only {len(received.get(n, []))} of {args.viewers} viewers within 10 s")
        if n >= args.warmup:
            delays = [t - sent for t in received.get(n, [])]
            samples += delays
            if delays:
                slowest.append(max(delays))
            sent_at[n] = sent
        await asyncio.sleep(0.02)
    await asyncio.sleep(1)  # the last acks
    written = [acks[n] - sent for n, sent in sent_at.items() if n in acks]
    for task in (*readers, *sender_readers):
        task.cancel()
    for ws in (*viewers, *senders):
        await ws.close()
    return samples, slowest, written


async def sender_drain(ws, acks: dict[int, float]):
    async for raw in ws:
        frame = json.loads(raw)
        if frame["type"] == "ack":
            acks[int(frame["client_id"])] = time.perf_counter()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def uptime() -> str:
    path = shutil.which("uptime")
    if path is None:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    return subprocess.run([path], capture_output=True, text=True).stdout.strip()  # noqa: S603


def summary(title: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, int(round(0.95 * len(values))) - 1)]
    return (
        f"| {title} | {len(values):,} | {statistics.median(values) * 1000:.1f} | {p95 * 1000:.1f} | "
        f"{values[-1] * 1000:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--profile", default="", help="run uvicorn under cProfile, writing this file")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (a database of its own) and REDIS_URL; see the docstring")
    database_ensure(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    os.environ.setdefault("SITE_SCHEME", "http")
    import django

    django.setup()
    from django.conf import settings

    log(f"channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}, {os.cpu_count()} CPUs")
    log("uptime before: " + uptime())
    _site, number, alice, ben = data_prepare()
    port = free_port()
    server = server_start(port, args.profile)
    try:
        cpu_before = cpu_seconds(server.pid)
        samples, slowest, written = asyncio.run(measure(args, port, number, alice, ben))
        cpu = cpu_seconds(server.pid) - cpu_before
    except Exception:
        server.log_file.seek(0)
        log("server output:\n" + server.log_file.read().decode(errors="replace")[-6000:])
        raise
    finally:
        server.send_signal(signal.SIGINT)  # a clean stop: cProfile writes its file
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log("uptime after: " + uptime())
    log("")
    log("| send -> receipt | samples | median ms | p95 ms | max ms |")
    log("|---|---:|---:|---:|---:|")
    log(summary(f"each of {args.viewers} viewers", samples))
    log(summary("slowest viewer of each message", slowest))
    log(summary("sender's ack (write, commit, publish)", written))
    runs = args.runs + args.warmup
    log(f"\nuvicorn CPU time (user + system) per message, connections included: {cpu / runs * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
