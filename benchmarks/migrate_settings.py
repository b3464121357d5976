"""Settings for benchmarks/migrate.py: the project's settings, with the tickets app's migrations
read from a throwaway copy (BENCH_TICKETS_MIGRATIONS, a module on PYTHONPATH) that holds the
extra migrations the benchmark applies. Nothing is added to tenant_apps/tickets/migrations."""

import os

from saas.settings import *  # noqa: F403

if os.environ.get("BENCH_TICKETS_MIGRATIONS"):
    MIGRATION_MODULES = {"tickets": os.environ["BENCH_TICKETS_MIGRATIONS"]}
