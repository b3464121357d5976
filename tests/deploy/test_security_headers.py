"""Every response carries the browser security headers, and the Content-Security-Policy is strict
for scripts: our origin, or inline with this response's nonce, nothing else. The templates keep
to it: no inline script or event handler anywhere (the browser test checks the rendered pages)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import ACME_HOST, ROOT, http

BASE = Path(settings.BASE_DIR)


def policy_of(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_script_policy_is_strict_and_the_import_map_carries_the_nonce(users):
    response = http(ACME_HOST, users["acme_staff"]).get("/tickets/new/")
    assert response.status_code == 200
    policy = policy_of(response)
    nonce = next(value for value in policy["script-src"] if value.startswith("'nonce-"))[len("'nonce-") : -1]
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]

    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    assert inline, "the editor's import map should be on this page"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline), inline
    assert 'type="importmap"' in html

    again = policy_of(http(ACME_HOST, users["acme_staff"]).get("/tickets/new/"))
    assert again["script-src"] != policy["script-src"]  # a fresh nonce per response


def test_pages_without_inline_scripts_get_no_nonce(users):
    response = http(ACME_HOST, users["acme_staff"]).get("/tickets/")
    assert policy_of(response)["script-src"] == ["'self'"]


@pytest.mark.parametrize("host", [ROOT, ACME_HOST, f"nope.{ROOT}"])
def test_security_headers_on_every_host_even_an_unknown_one(host):
    response = http(host).get("/accounts/login/")
    assert response.status_code in (200, 404)
    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def _project_templates() -> list[Path]:
    roots = [BASE / "templates", *BASE.glob("shared_apps/*/templates"), *BASE.glob("tenant_apps/*/templates")]
    return sorted(path for root in roots for path in root.rglob("*.html"))


@pytest.mark.parametrize(
    "pattern, why",
    [
        (r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", "inline <script>: move it to static/js/"),
        (r"\son[a-z]+\s*=", "on*= event handler: bind it from a static/js/ file"),
        (r"javascript:", "javascript: URL"),
        (r"\bhx-on", "hx-on needs eval, which the CSP refuses (htmx allowEval is off)"),
        (r"\{\{\s*[\w.]*media\s*\}\}", "{{ form.media }} without the nonce: use {% nonced_media form.media %}"),
    ],
)
def test_no_template_needs_unsafe_inline_script(pattern, why):
    offenders = []
    for path in _project_templates():
        if "/email/" in str(path):
            continue  # emails are not pages: no CSP, no scripts anyway
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line, flags=re.IGNORECASE):
                offenders.append(f"{path.relative_to(BASE)}:{number}: {line.strip()}")
    assert offenders == [], f"{why}\n" + "\n".join(offenders)
