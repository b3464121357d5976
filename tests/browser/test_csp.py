"""The Content-Security-Policy holds in a real browser: the main pages load with no violation and
no script error, and the rich-text editor (an import map and ES modules) still comes up.

Chromium fires `securitypolicyviolation` in the page for everything the policy blocks (and logs a
console error); both are collected for every page, along with uncaught errors.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_login_once import login_at_root
from tests.browser.test_ticket_journey import EDITOR, login_on_site, type_rich_text
from tests.conftest import CAST

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`
    + ` sample=${e.sample}`);
});
"""


class Watch:
    """Everything a page reported as a CSP violation, a console error or an uncaught error."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        self.pages: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))

    def visit(self, url: str, *, expect_nonce: bool = False):
        response = self.page.goto(url)
        assert response.status == 200, (url, response.status)
        self.check(response, expect_nonce=expect_nonce)

    def check(self, response=None, *, expect_nonce: bool = False):
        self.page.wait_for_load_state("networkidle")
        url = self.page.url
        self.pages.append(url)
        if response is not None:
            policy = response.headers["content-security-policy"]
            assert "'unsafe-inline'" not in directive(policy, "script-src"), policy
            assert ("'nonce-" in policy) == expect_nonce, (url, policy)
        for violation in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{url}: {violation}")


def directive(policy: str, name: str) -> str:
    for part in policy.split(";"):
        if part.strip().startswith(name + " "):
            return part.strip()
    return ""


def test_main_pages_satisfy_the_content_security_policy(page, browser, live_url, shoot):
    watch = Watch(page)
    subject = f"CSP check [{uuid.uuid4().hex[:8]}]"

    # Login pages, anonymous: root and a client site.
    watch.visit(live_url.root_url("/accounts/login/"))
    watch.visit(live_url.site_url("acme", "/accounts/login/"))

    # An engineer covering every site: queue, a site's ticket list, new ticket, ticket detail.
    login_at_root(page, live_url, CAST["engineer_all"])
    watch.check()
    watch.visit(live_url.root_url("/queue/"))
    watch.visit(live_url.site_url("acme", "/tickets/"))
    watch.visit(live_url.site_url("acme", "/tickets/new/"), expect_nonce=True)
    expect(page.locator(EDITOR)).to_be_visible()  # the import map ran: the editor came up
    page.get_by_label("Subject").fill(subject)
    type_rich_text(page, "Checking the ", "policy", ".")
    with page.expect_navigation():
        page.get_by_role("button", name="Open ticket").click()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    ticket_path = re.search(r"/tickets/\d+/$", page.url).group(0)
    watch.check()
    response = page.reload()
    watch.check(response, expect_nonce=True)
    expect(page.locator(EDITOR)).to_be_visible()  # the reply editor
    shoot(page, "csp-ticket-detail-desktop")

    # A platform admin: the console.
    admin_context = browser.new_context(viewport={"width": 1280, "height": 800})
    admin = admin_context.new_page()
    admin_watch = Watch(admin)
    login_at_root(admin, live_url, CAST["platform"])
    admin_watch.check()
    admin_watch.visit(live_url.root_url("/console/"))
    for path in (
        "/console/engineers/",
        "/console/billing/",
        "/console/billing/plans/",
        "/console/billing/subscriptions/",
    ):
        admin_watch.visit(live_url.root_url(path))
    admin_context.close()

    # A client admin on her site: home, the ticket (the requester's side of the page, with the AI
    # assistant), reports and satisfaction (charts sized by style attributes), team, profile,
    # billing.
    client_context = browser.new_context(viewport={"width": 1280, "height": 800})
    client = client_context.new_page()
    client_watch = Watch(client)
    login_on_site(client, live_url, "acme", CAST["acme_admin"], "/tickets/")
    client_watch.check()
    for path in ("/", ticket_path, "/reports/", "/reports/satisfaction/", "/team/", "/profile/", "/billing/"):
        client_watch.visit(live_url.site_url("acme", path), expect_nonce=path == ticket_path)
    client_context.close()

    watches = (watch, admin_watch, client_watch)
    problems = [problem for w in watches for problem in w.problems]
    assert problems == [], "\n".join(problems)
    assert sum(len(w.pages) for w in watches) == 22  # every page above, each checked once
