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


def embedded_database_stop(base_dir: Path) -> None:
    """Stop the embedded server (`make db-stop`). pgserver runs it as the `pgserver` system user
    when we are root, and postgres refuses to be stopped by root, so pg_ctl runs as that user."""
    import os

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop"], pgdata=base_dir / "var" / "pgdata", user=user)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["stop"]:
        embedded_database_stop(Path(__file__).resolve().parent.parent)
