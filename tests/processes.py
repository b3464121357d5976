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
