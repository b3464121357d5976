"""The deployment files hold together. Docker is not available on this machine, so the image
and compose file are checked by reading them (compose the way `docker compose config` would:
interpolated with .env.example's values, merged, parsed); the Dockerfile's collectstatic step
and its health check run for real in test_nginx.py. The systemd units go through
`systemd-analyze verify` and its offline security review."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE = Path(settings.BASE_DIR)
DEPLOY = BASE / "deploy"
APP_SERVICES = {"web", "worker", "beat"}
UNITS = ["tenantdesk-web.service", "tenantdesk-worker.service", "tenantdesk-beat.service"]
# Read by uvicorn itself, not by our settings.
SERVER_VARIABLES = {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}
# Set by the test suite or development only; never in a production env file.
NOT_FOR_PRODUCTION = {"TESTING"}


def env_example() -> dict[str, str]:
    """Every variable .env.example mentions, set (`VAR=x`) or shown commented (`# VAR=x`)."""
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            values.setdefault(match.group(1), match.group(2) if not line.startswith("#") else "")
    return values


def env_set_in_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def variables_read_by_the_code() -> set[str]:
    readers = r"env_str|env_bool|env_int|env_float|env_list|os\.environ\.get|os\.getenv"
    pattern = re.compile(rf"(?:{readers})\(\s*\"([A-Z0-9_]+)\"")
    names = set()
    for folder in ("saas", "shared_apps", "tenant_apps"):
        for path in (BASE / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation of every string in the parsed file: ${VAR}, ${VAR:-default},
    ${VAR:?error}, and $$ for a literal $."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        found = env.get(name, "")
        if op == ":?" and not found:
            raise AssertionError(f"compose.yaml needs {name}: {arg}")
        if op == ":-" and not found:
            return arg
        return found

    text = value.replace("$$", "\0")
    text = re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, text)
    assert "$" not in text.replace("\0", ""), f"a bare $VAR in compose.yaml: {value!r} (use ${{VAR}} or $$)"
    return text.replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    """compose.yaml as `docker compose config` sees it with .env.example as deploy/.env."""
    return interpolate(yaml.safe_load((DEPLOY / "compose.yaml").read_text()), env_set_in_example())


def test_every_variable_the_code_reads_is_documented():
    read = variables_read_by_the_code() - NOT_FOR_PRODUCTION
    example = set(env_example())
    assert read - example == set(), "add these to deploy/.env.example"
    configuration = (BASE / "docs" / "configuration.md").read_text()
    undocumented = {name for name in read | SERVER_VARIABLES if f"`{name}`" not in configuration}
    assert undocumented == set(), "add these to docs/configuration.md"


def test_compose_has_the_services_volumes_and_only_nginx_published(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres", "redis", "nginx"}
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in ("web", "worker"):
        assert "media:/data/media" in services[name]["volumes"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}, "only nginx may be reachable from outside"
    assert services["nginx"]["ports"] == ["80:80", "443:443"]


def test_compose_runs_one_image_with_the_right_commands(compose):
    services = compose["services"]
    build = services["web"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1
    assert "command" not in services["web"]  # the image's CMD: uvicorn
    assert services["worker"]["command"][:4] == ["celery", "-A", "saas", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "saas", "beat"]
    assert services["beat"]["healthcheck"] == {"disable": True}
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_compose_takes_every_secret_from_the_env_file(compose):
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|KEY|DSN|_URL", key):
                assert "${" in str(value), f"{name}.{key} is written into compose.yaml"
    example = env_set_in_example()
    web = compose["services"]["web"]
    assert web["env_file"] == ".env"
    assert web["environment"]["DATABASE_URL"] == (
        f"postgres://tenantdesk:{example['POSTGRES_PASSWORD']}@postgres:5432/tenantdesk"
    )
    assert web["environment"]["REDIS_URL"] == f"redis://:{example['REDIS_PASSWORD']}@redis:6379/0"
    # Proxy headers are trusted from the edge network (nginx <-> web) only.
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert set(web["networks"]) == {"backend", "edge"}
    assert compose["services"]["nginx"]["networks"] == ["edge"]


def test_persistent_database_connections_only_outside_asgi(compose):
    services = compose["services"]
    assert services["web"]["environment"]["DB_CONN_MAX_AGE"] == "0"
    assert services["worker"]["environment"]["DB_CONN_MAX_AGE"] == "60"
    assert unit_settings("tenantdesk-web.service")["Environment"][1] == "DB_CONN_MAX_AGE=0"
    assert unit_settings("tenantdesk-worker.service")["Environment"][1] == "DB_CONN_MAX_AGE=60"


def test_env_example_reads_the_same_in_a_shell_as_in_compose_and_systemd():
    """Quoted where a shell would choke (`<`), which Compose and systemd strip too."""
    shown = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; set +a; printf "%s\\n" "$DEFAULT_FROM_EMAIL" "$ROOT_DOMAIN"', "-",
         str(DEPLOY / ".env.example")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["TenantDesk <support@helpdesk.example.com>", "helpdesk.example.com"]


def test_compose_nginx_serves_the_same_conf_file(compose):
    nginx = compose["services"]["nginx"]
    assert "./nginx/tenantdesk.conf:/etc/tenantdesk/tenantdesk.conf:ro" in nginx["volumes"]
    script = nginx["command"][-1]
    assert "/etc/tenantdesk/tenantdesk.conf > /etc/nginx/conf.d/default.conf" in script
    assert "s/example\\.com/$ROOT_DOMAIN/g" in script
    assert "s/127\\.0\\.0\\.1:8000/web:8000/" in script
    conf = (DEPLOY / "nginx" / "tenantdesk.conf").read_text()
    assert "server 127.0.0.1:8000;" in conf


def test_compose_nginx_start_command_renders_the_site_for_root_domain(compose, tmp_path):
    """nginx's start command from compose.yaml, run by sh with the files moved to tmp_path and
    nginx itself left out (its upstream `web` only resolves inside Compose)."""
    script = compose["services"]["nginx"]["command"][-1]
    script = script.replace("/etc/tenantdesk/tenantdesk.conf", str(DEPLOY / "nginx" / "tenantdesk.conf"))
    script = script.replace("/etc/nginx/conf.d/default.conf", str(tmp_path / "default.conf"))
    script = script.replace('exec nginx -g "daemon off;"', "true")
    ran = subprocess.run(["sh", "-c", script], env={"ROOT_DOMAIN": "helpdesk.yourco.com"}, capture_output=True)
    assert ran.returncode == 0, ran.stderr
    rendered = (tmp_path / "default.conf").read_text()
    assert rendered.count("server_name helpdesk.yourco.com *.helpdesk.yourco.com;") == 2
    assert "server web:8000;" in rendered and "127.0.0.1:8000" not in rendered
    assert "example.com" not in rendered


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def test_dockerfile_builds_a_slim_non_root_image_with_cached_dependencies():
    steps = dockerfile_instructions()
    keywords = [keyword for keyword, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim-bookworm")
    copy_requirements = steps.index(("COPY", "requirements.txt /tmp/requirements.txt"))
    install = next(i for i, (k, rest) in enumerate(steps) if k == "RUN" and "pip install -r" in rest)
    copy_code = steps.index(("COPY", ". /app"))
    assert copy_requirements < install < copy_code  # code changes do not reinstall dependencies
    collect = next(i for i, (k, rest) in enumerate(steps) if k == "RUN" and "collectstatic" in rest)
    assert copy_code < collect
    user = keywords.index("USER")
    assert steps[user] == ("USER", "tenantdesk")
    assert keywords.count("USER") == 1 and user < keywords.index("CMD")
    healthcheck = dict(steps)["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "'Host': os.environ['ROOT_DOMAIN']" in healthcheck
    cmd = dict(steps)["CMD"]
    assert cmd.startswith('["uvicorn", "saas.asgi:application"')
    assert '"--proxy-headers"' in cmd


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for entry in ("**/.git", "**/.venv", "**/.env", "var", "tests"):
        assert entry in ignored


def unit_settings(name: str) -> dict[str, list[str]]:
    settings_ = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings_.setdefault(key, []).append(value)
    return settings_


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_unit_runs_hardened_as_the_service_user(unit):
    values = unit_settings(unit)
    assert values["User"] == ["tenantdesk"]
    assert values["EnvironmentFile"] == ["/etc/tenantdesk/tenantdesk.env"]
    assert values["Restart"] == ["always"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert values[key] == [value], key
    assert values["ExecStart"][0].startswith("/opt/tenantdesk/.venv/bin/")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze(tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    for unit in UNITS:
        text = (DEPLOY / "systemd" / unit).read_text().replace("/opt/tenantdesk/.venv/bin", venv_bin)
        (tmp_path / unit).write_text(text)
    units = [str(tmp_path / unit) for unit in UNITS]
    verify = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    for unit in units:
        review = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", unit], capture_output=True, text=True, timeout=60
        )
        exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", review.stdout).group(1))
        assert exposure <= 2.0, review.stdout  # systemd's scale: 0 best, 10 worst; "OK" up to 4.9
