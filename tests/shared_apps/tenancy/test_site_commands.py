"""`manage.py create_site` and `delete_site`, run as real processes against the test database."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import database_url


@pytest.fixture
def manage(world):
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "TESTING": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_create_site_prints_its_url_and_delete_site_removes_it(manage):
    created = manage("create_site", "--name", "Cli Co", "--subdomain", "cli-co", "--admin-email", "a@cli.example")
    try:
        assert created.returncode == 0, created.stderr
        assert created.stdout.strip().splitlines()[-1] == "http://cli-co.tenantdesk.localhost/"
        assert "invite/" in created.stdout + created.stderr  # the invitation email (console backend)
    finally:
        refused = manage("delete_site", "--subdomain", "cli-co")
        deleted = manage("delete_site", "--subdomain", "cli-co", "--yes")
    assert refused.returncode == 1 and "add --yes to confirm" in refused.stderr
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted Cli Co (cli-co)." in deleted.stdout
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 's_cli_co_%%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subdomain", "Bad;Name"], "subdomain: Use lowercase letters only."),
        (["--subdomain", "acme"], "subdomain: 'acme' is already taken."),
        (["--subdomain", "fine-one", "--admin-email", "nope"], "admin-email: Enter a valid email address."),
    ],
)
def test_create_site_refuses_bad_input_with_one_line_and_exit_1(manage, args, message):
    defaults = {"--name": "Some Co", "--subdomain": "some-co", "--admin-email": "a@some.example"}
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    argv = [part for key, value in {**defaults, **pairs}.items() for part in (key, value)]
    result = manage("create_site", *argv)
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {message}"


def test_delete_site_of_an_unknown_subdomain_fails_clearly(manage):
    result = manage("delete_site", "--subdomain", "nosuchsite", "--yes")
    assert result.returncode == 1
    assert "No site with subdomain 'nosuchsite'." in result.stderr
