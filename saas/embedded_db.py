"""The embedded PostgreSQL used when `DATABASE_URL` is unset (DESIGN section 9).

The `pgserver` wheel ships PostgreSQL binaries; the cluster lives under `var/pgdata` and is
left running between commands (`make run` starts it once, later commands reuse it). It listens
on a Unix socket only, so it never collides with a PostgreSQL already on port 5432.
"""

import warnings
from pathlib import Path

DATABASE_NAME = "tenantdesk"


def embedded_database_settings(base_dir: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: "XDG_RUNTIME_DIR is not set", harmless here
        import pgserver  # here: a deployment with DATABASE_URL never loads the wheel

        server = pgserver.get_server(base_dir / "var" / "pgdata", cleanup_mode=None)
    if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"):
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    info = server.get_postmaster_info()
    return {"NAME": DATABASE_NAME, "USER": "postgres", "HOST": str(info.socket_dir), "PORT": str(info.port)}
