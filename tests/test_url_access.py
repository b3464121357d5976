"""Every URL of both URLconfs, requested as each member of the cast (and anonymously).

The URL lists are read from the URLconfs themselves, so a new URL without an expectation here
fails `test_every_url_has_an_expectation`. Rules (DESIGN section 4):
- client site: anonymous -> login (except the open pages); no membership/coverage -> the same
  404 as an unknown site; members and covering engineers get in, by role;
- root domain: the console is for platform admins only (others get 404).
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http

ROLES = [
    "anonymous",
    "platform",
    "engineer_all",
    "engineer_acme",
    "acme_admin",
    "acme_staff",
    "globex_admin",
    "globex_staff",
    "outsider",
]

SAMPLE_KWARGS = {
    "subdomain": "acme",
    "membership_id": "1",
    "invitation_id": "1",
    "token": "not-a-real-token",
    "key": "not-a-real-key",
    "uidb36": "1",
    "provider_id": "x",
    "pk": "1",
    "number": "1",
    "attachment_id": "1",
    "entry_id": "1",
    "profile_id": "999999",
    "result_id": "1",
    "message_id": "1",
    "user_id": "1",
    "line_id": "1",
    "slug": "no-such-article",
    "link_id": "1",
    "name": "acme-20000101-000000.zip",
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def _concrete(route: str) -> str:
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE_KWARGS.get(m.group(1), "x"), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_KWARGS.get(m.group(1), "x"), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "")


def urls_of(urlconf: str) -> list[tuple[str, str]]:
    return sorted({(_concrete(route), name or "") for route, name in _walk(get_resolver(urlconf).url_patterns)})


TENANT_URLS = urls_of("saas.urls_tenant")
PUBLIC_URLS = urls_of("saas.urls_public")

# Our own tenant pages: expected status per role on acme (anything not listed: 200).
TENANT_EXPECT = {
    "site_home": {},
    "healthz": {},
    "team": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    # POST-only endpoints: a GET is refused once access is granted.
    "team_signup_settings": {"acme_admin": 405, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "team_member_deactivate": {"acme_admin": 405, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "team_member_reactivate": {"acme_admin": 405, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "team_invitation_cancel": {"acme_admin": 405, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "invitation_accept": {"*": 404},  # unknown token: 404 for everyone
    "notification_settings": {},
    "ticket_list": {},
    "ticket_create": {},
    # No ticket 1 in the test database: missing and invisible look the same. Tickets that exist
    # are checked role by role in tests/tenant_apps/tickets/test_ticket_views.py.
    "ticket_detail": {"*": 404},
    "ticket_history": {"*": 404},
    "ticket_messages": {"*": 404},  # the live thread's polling fallback; per role in test_live_views.py
    "ticket_attachment": {"*": 404},
    "ticket_reply": {"*": 405},
    "ticket_status": {"*": 405},
    "ticket_update": {"*": 405},
    "ticket_time": {"*": 405},
    "ticket_time_edit": {"*": 405},  # a time entry per role: tests/tenant_apps/tickets/test_ticket_time_views.py
    "ticket_time_delete": {"*": 405},
    "ticket_share": {"*": 405},
    "ticket_merge": {"*": 405},
    "ai_draft": {"*": 405},
    "ai_ask": {"*": 405},
    "ai_review": {"*": 405},
    "ai_solved": {"*": 405},
    "ai_answer": {"*": 404},
    # Client admins only; other members know the site, so 403 rather than 404.
    "ticket_report": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "sla_settings": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    # Profiles: one's own page; avatars only through the site (nobody has one in this database).
    "profile": {},
    "profile_avatar": {"*": 405},
    "profile_avatar_remove": {"*": 405},
    "person_avatar": {"*": 404},
    # An engineer's one picture for every site they cover (nobody has one in this database; who
    # sees one: tests/shared_apps/engineers/test_engineer_avatar.py).
    "engineer_avatar": {"*": 404},
    # Reviews: a missing ticket is 404; satisfaction pages are for client admins.
    "ticket_review": {"*": 404},
    "csat_report": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "service_review": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    # Billing: client admins only (no invoice "1" exists; real ones in tests/shared_apps/billing).
    "billing_home": {"acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "billing_invoice": {"*": 404, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "billing_invoice_pdf": {"*": 404, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "billing_invoice_csv": {"*": 404, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    "billing_invoice_line": {"*": 404, "acme_staff": 403, "engineer_all": 403, "engineer_acme": 403},
    # Knowledge base (tenant_apps/knowledge): readable by everyone on the site; written by
    # engineers and client admins. Articles that exist are checked role by role in
    # tests/tenant_apps/knowledge/.
    "article_list": {},
    "article_create": {"acme_staff": 403},
    "article_suggest": {},
    "article_detail": {"*": 404},
    "article_edit": {"*": 404},
    "article_vote": {"*": 405},
    "global_article_detail": {"*": 404},
    "global_article_vote": {"*": 405},
    "ticket_article_link": {"*": 405},
    "ticket_article_unlink": {"*": 405},
    "ticket_article_draft": {"*": 405},
    "announcement_dismiss": {"*": 405},
}
ALWAYS_OPEN = ("/healthz",)
ANONYMOUS_OPEN = ("/accounts/", "/invite/")
NON_MEMBER_OPEN = ("/accounts/logout/", "/invite/")
# allauth answers its own pages with a page, a redirect, 401 (social login error), 405 (POST-only)
# or its own 404 (a sample key that does not exist, recovery codes before MFA is set up).
ALLAUTH_ANSWERS = (200, 301, 302, 401, 404, 405)
# ...but these must simply work for anyone who may use the site.
ACCOUNT_PAGES = ("/accounts/password/change/", "/accounts/2fa/", "/accounts/email/")
ACME_INSIDERS = {"engineer_all", "engineer_acme", "acme_admin", "acme_staff"}

PUBLIC_EXPECT = {
    "home": {},
    "healthz": {},
    "queue": {"*": 404, "engineer_all": 200, "engineer_acme": 200, "anonymous": "login"},
    "my_time": {"*": 404, "engineer_all": 200, "engineer_acme": 200, "anonymous": "login"},
    "engineer_avatar": {"*": 404, "anonymous": "login"},  # per viewer: tests/shared_apps/engineers
    "console_sites": {"*": 404, "platform": 200, "anonymous": "login"},
    "engineer_list": {"*": 404, "platform": 200, "anonymous": "login"},
    "engineer_edit": {"*": 404, "platform": 404, "anonymous": "login"},  # no profile with the sample id
    "console_site_detail": {"*": 404, "platform": 200, "anonymous": "login"},
    "console_site_suspend": {"*": 404, "platform": 200, "anonymous": "login"},  # GET: the confirmation page
    "console_site_reactivate": {"*": 404, "platform": 405, "anonymous": "login"},
    "console_site_delete": {"*": 404, "platform": 200, "anonymous": "login"},
    "console_site_ai": {"*": 404, "platform": 200, "anonymous": "login"},
    "my_ratings": {"*": 404, "engineer_all": 200, "engineer_acme": 200, "anonymous": "login"},
    "console_satisfaction": {"*": 404, "platform": 200, "anonymous": "login"},
    "billing_overview": {"*": 404, "platform": 200, "anonymous": "login"},
    "billing_invoice_list": {"*": 404, "platform": 200, "anonymous": "login"},
    "console_invoice": {"*": 404, "anonymous": "login"},  # no invoice "1"
    "console_invoice_pdf": {"*": 404, "anonymous": "login"},
    "console_invoice_csv": {"*": 404, "anonymous": "login"},
    "console_invoice_line": {"*": 404, "anonymous": "login"},
    "console_invoice_paid": {"*": 404, "platform": 405, "anonymous": "login"},
    "billing_plans": {"*": 404, "platform": 200, "anonymous": "login"},
    "billing_plan_edit": {"*": 404, "platform": 200, "anonymous": "login"},  # plan 1: the world's
    "billing_subscriptions": {"*": 404, "platform": 200, "anonymous": "login"},
    "billing_subscription_edit": {"*": 404, "platform": 200, "anonymous": "login"},
    # Global articles and announcements (shared_apps/publishing): platform admins and engineers.
    "publishing_article_list": {
        "*": 404,
        "platform": 200,
        "engineer_all": 200,
        "engineer_acme": 200,
        "anonymous": "login",
    },
    "publishing_article_create": {
        "*": 404,
        "platform": 200,
        "engineer_all": 200,
        "engineer_acme": 200,
        "anonymous": "login",
    },
    "publishing_article_edit": {"*": 404, "anonymous": "login"},  # no article with the sample slug
    "announcement_list": {"*": 404, "platform": 200, "engineer_all": 200, "engineer_acme": 200, "anonymous": "login"},
    "announcement_create": {"*": 404, "platform": 200, "engineer_all": 200, "engineer_acme": 200, "anonymous": "login"},
    "announcement_edit": {"*": 404, "anonymous": "login"},  # no announcement with the sample id
    "announcement_end": {"*": 404, "platform": 405, "engineer_all": 405, "engineer_acme": 405, "anonymous": "login"},
    "console_site_export": {"*": 404, "platform": 200, "anonymous": "login"},
    "console_site_export_download": {"*": 404, "platform": 404, "anonymous": "login"},  # no such archive
}


def _client(role, users, host):
    return http(host, None if role == "anonymous" else users[role])


def _assert_login_redirect(response, path):
    assert response.status_code == 302, (path, response.status_code)
    assert response["Location"].startswith("/accounts/login/"), response["Location"]


def test_every_url_has_an_expectation():
    ours_tenant = {name for path, name in TENANT_URLS if not path.startswith("/accounts/")}
    ours_public = {name for path, name in PUBLIC_URLS if not path.startswith("/accounts/")}
    assert ours_tenant == set(TENANT_EXPECT), "add the new tenant URL to TENANT_EXPECT"
    assert ours_public == set(PUBLIC_EXPECT), "add the new public URL to PUBLIC_EXPECT"


@pytest.mark.parametrize("role", ROLES)
def test_tenant_urls_on_acme(role, users):
    client = _client(role, users, ACME_HOST)
    for path, name in TENANT_URLS:
        response = client.get(path)
        status = response.status_code
        assert status != 500, path
        if path.startswith(ALWAYS_OPEN):
            assert status == 200, (role, path)
        elif role == "anonymous":
            if path.startswith(ANONYMOUS_OPEN):  # allauth decides; our invitation page 404s a bad token
                expected = TENANT_EXPECT.get(name, {}).get("*")
                assert status == expected if expected else status in ALLAUTH_ANSWERS, (path, status)
            else:
                _assert_login_redirect(response, path)
        elif role not in ACME_INSIDERS:
            if path.startswith(NON_MEMBER_OPEN):
                assert status != 403, path
            else:
                assert status == 404, (role, path, status)
                assert b"Page not found" in response.content
        elif name in TENANT_EXPECT:
            expect = TENANT_EXPECT[name]
            assert status == expect.get(role, expect.get("*", 200)), (role, path, status)
        else:  # allauth's own pages, for a member
            assert status in ALLAUTH_ANSWERS, (role, path, status)
            if path in ACCOUNT_PAGES:
                assert status == 200, (role, path, status)


@pytest.mark.parametrize("role", ROLES)
def test_globex_home_is_only_for_globex_and_engineers_covering_it(role, users):
    response = _client(role, users, GLOBEX_HOST).get("/")
    if role == "anonymous":
        _assert_login_redirect(response, "/")
    elif role in {"engineer_all", "globex_admin", "globex_staff"}:
        assert response.status_code == 200
    else:
        assert response.status_code == 404, role


@pytest.mark.parametrize("role", ROLES)
def test_public_urls(role, users):
    client = _client(role, users, ROOT)
    for path, name in PUBLIC_URLS:
        response = client.get(path)
        assert response.status_code != 500, path
        if name in PUBLIC_EXPECT:
            expect = PUBLIC_EXPECT[name]
            expected = expect.get(role, expect.get("*", 200))
            if expected == "login":
                _assert_login_redirect(response, path)
            else:
                assert response.status_code == expected, (role, path, response.status_code)
        else:
            assert response.status_code in ALLAUTH_ANSWERS, (role, path, response.status_code)
