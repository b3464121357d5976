"""Export archives kept for download from the console: `SITE_EXPORT_ROOT/<schema>/<subdomain>-<time>.zip`.

A worker writes `<name>.zip.part` and renames it when complete, so a listed `.zip` is always a
whole archive, and one still being written shows as "in progress". The folder is per schema (never
reused by another site), and the files stay after the site is deleted: they are the way back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from shared_apps.tenancy.models import Client

_NAME = re.compile(r"^[a-z0-9-]+-\d{8}-\d{6}\.zip$")


@dataclass(frozen=True)
class ExportFile:
    name: str
    size: int
    created_at: datetime
    ready: bool


def _folder(client: Client) -> Path:
    return Path(settings.SITE_EXPORT_ROOT) / client.schema_name


def site_export_list(*, client: Client) -> list[ExportFile]:
    """The site's exports, newest first (finished ones and ones still being written)."""
    folder = _folder(client)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        ready = bool(_NAME.match(path.name))
        if ready or (path.name.endswith(".part") and _NAME.match(path.name.removesuffix(".part"))):
            stat = path.stat()
            found.append(
                ExportFile(
                    name=path.name.removesuffix(".part"),
                    size=stat.st_size,
                    created_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                    ready=ready,
                )
            )
    return sorted(found, key=lambda e: (e.name, e.ready), reverse=True)


def site_export_path(*, client: Client, name: str) -> Path | None:
    """The finished archive called `name` of this site, or None (also for any odd name)."""
    if not _NAME.match(name):
        return None
    path = _folder(client) / name
    return path if path.is_file() else None


def site_export_write(*, client: Client) -> Path:
    """Write a new archive of `client` into its export folder; return its path."""
    from shared_apps.tenancy.archive.export import site_export

    folder = _folder(client)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{client.subdomain}-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    partial = final.with_name(final.name + ".part")
    try:
        site_export(client=client, out=partial)
        partial.rename(final)
    finally:
        partial.unlink(missing_ok=True)
    return final
