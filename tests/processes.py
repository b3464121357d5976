"""Running the project in other processes (manage.py commands, the ASGI server) on the very
database this pytest process uses."""

from urllib.parse import quote, urlencode

import dj_database_url


def database_url(db: dict) -> str:
    """A DATABASE_URL for `db` (a Django settings dict whose NAME is already the test database).
    A HOST starting with "/" is a Unix socket directory (the embedded PostgreSQL); libpq takes it
    as `?host=`, since a path cannot sit in the URL's host part."""
    user = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    name = quote(db["NAME"], safe="")
    host, port = db.get("HOST") or "", str(db.get("PORT") or "")
    if host.startswith("/"):
        query = {"host": host, **({"port": port} if port else {})}
        url = f"postgresql://{user}@/{name}?{urlencode(query)}"
    else:
        url = f"postgres://{user}@{host}{':' + port if port else ''}/{name}"
    _check_round_trip(url, db)
    return url


def _check_round_trip(url: str, db: dict) -> None:
    """The other process parses the URL with dj_database_url (saas/settings.py): make sure it
    lands on the very same database, or fail here with both sides shown."""
    parsed = dj_database_url.parse(url)
    options = parsed.get("OPTIONS", {})

    def where(d: dict, opts: dict) -> tuple:
        port = d.get("PORT") or opts.get("port") or ""
        return (d["NAME"], d.get("USER") or "", d.get("HOST") or opts.get("host") or "", str(port))

    assert where(parsed, options) == where(db, {}), f"DATABASE_URL {url!r} parses to {parsed!r}, expected {db!r}"


def committed(work):
    """Run `work()` on a connection of its own, outside the test's rolled-back transaction, so it
    reads and writes what other processes (the live server, a worker) see."""
    import threading

    from django.db import connections

    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the committed database work hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def site_tickets_snapshot(sites) -> dict[str, int]:
    """The committed ticket counter of each site, to undo what a live-server test created."""
    from django_tenants.utils import tenant_context

    from tenant_apps.tickets.models import TicketCounter

    def read():
        counters = {}
        for site in sites:
            with tenant_context(site):
                counters[site.schema_name] = TicketCounter.objects.get(pk=1).last_number
        return counters

    return committed(read)


def site_tickets_restore(sites, counters: dict[str, int]) -> None:
    """Delete the tickets created after `site_tickets_snapshot` (rows and stored files) and put
    the counters back, so later tests start from the same committed state."""
    from django_tenants.utils import tenant_context

    from shared_apps.engineers.models import TicketIndex, TimeEntryIndex
    from tenant_apps.tickets.models import Attachment, Ticket, TicketCounter, TimeEntry

    def restore():
        for site in sites:
            with tenant_context(site):
                start = counters[site.schema_name]
                for attachment in Attachment.objects.filter(ticket__number__gt=start):
                    attachment.file.delete(save=False)
                TimeEntry.objects.filter(ticket__number__gt=start).delete()
                Ticket.objects.filter(number__gt=start, duplicate_of__isnull=False).delete()
                Ticket.objects.filter(number__gt=start).delete()
                TicketCounter.objects.filter(pk=1).update(last_number=start)
            TicketIndex.objects.filter(client=site, number__gt=start).delete()
            TimeEntryIndex.objects.filter(client=site, ticket_number__gt=start).delete()

    committed(restore)


def redis_channel_layer(url: str) -> dict:
    """CHANNEL_LAYERS for a test server on its own Redis database, configured as saas/settings.py."""
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": 15}]},
        }
    }
