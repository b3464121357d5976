"""The knowledge base in a real browser: alice (acme staff) sees an announcement, searches the
knowledge base, reads an article and votes on it (htmx), gets suggestions while typing a new
ticket's subject (htmx), and dismisses the announcement (htmx). Screenshots at 1280 and 390 px
in test-artifacts/ (kb-*.png).

The live server is another process, so the articles are committed first and deleted afterwards.
"""

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from shared_apps.publishing.demo import GLOBAL_ARTICLES, SITE_ARTICLES
from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.factories import PASSWORD
from tests.processes import committed

pytestmark = pytest.mark.browser

ANNOUNCEMENT = "Planned maintenance: email and VPN tonight"


@pytest.fixture
def committed_kb(world):
    """acme's demo articles (engineers-only ones included), the global ones and an announcement
    for acme, committed for the live server; removed again afterwards."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.publishing import services as publishing
    from shared_apps.publishing.models import Announcement, GlobalArticle
    from shared_apps.tenancy.models import Client
    from tenant_apps.knowledge import services
    from tenant_apps.knowledge.models import Article
    from tenant_apps.tickets.models import Category

    def create():
        engineer = User.objects.get(email=CAST["engineer_acme"])
        platform = User.objects.get(email=CAST["platform"])
        acme = Client.objects.get(subdomain="acme")
        with tenant_context(acme):
            site_ids = [
                services.article_create(
                    actor=engineer, role="engineer", title=title, body=body, visibility=visibility,
                    category=Category.objects.get(slug=category), status="published",
                ).pk
                for _, title, category, visibility, body in SITE_ARTICLES["acme"]
            ]  # fmt: skip
        global_ids = [
            publishing.global_article_create(
                actor=platform, role="platform", title=title, body=body, category_slug=category,
                visibility=visibility, status="published",
            ).pk
            for title, category, visibility, body in GLOBAL_ARTICLES
        ]  # fmt: skip
        announcement = publishing.announcement_create(
            actor=platform, role="platform", title=ANNOUNCEMENT, severity="warning", sites=[acme],
            body="<p>Email and the VPN may be unavailable from 22:00 to 23:00.</p>",
            starts_at=timezone.now() - timedelta(minutes=1), ends_at=timezone.now() + timedelta(hours=2),
        )  # fmt: skip
        return acme, site_ids, global_ids, announcement.pk

    acme, site_ids, global_ids, announcement_id = committed(create)
    yield

    def remove():
        with tenant_context(acme):  # and any article a test made (a draft from a ticket)
            Article.objects.filter(pk__gte=min(site_ids)).delete()
        GlobalArticle.objects.filter(pk__in=global_ids).delete()
        Announcement.objects.filter(pk=announcement_id).delete()

    committed(remove)


def see_announcement(page) -> None:
    """The live server is another process with its own cache: the announcement the test committed
    shows once that process's cached list (if any) expires (ANNOUNCEMENT_CACHE_SECONDS)."""
    banner = page.locator(".announcement", has_text=ANNOUNCEMENT)
    deadline = time.monotonic() + settings.ANNOUNCEMENT_CACHE_SECONDS + 5
    while not banner.count() and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        page.reload()
    expect(banner).to_be_visible()


def both(page, phone_page, shoot, name: str) -> None:
    shoot(page, f"kb-{name}-desktop")
    phone_page.goto(page.url)
    expect(phone_page.locator("h1")).to_be_visible()
    shoot(phone_page, f"kb-{name}-phone")


def test_knowledge_base_journey(committed_kb, page, phone, shoot, live_url):
    alice = page
    login_on_site(alice, live_url, "acme", CAST["acme_staff"], "/kb/")
    expect(alice.locator("h1")).to_have_text("Knowledge base")
    see_announcement(alice)
    expect(alice.get_by_role("link", name="Connect to the office VPN")).to_be_visible()
    expect(alice.get_by_role("link", name="Set up two-factor authentication")).to_be_visible()
    expect(alice.get_by_text("New starter checklist")).to_have_count(0)  # engineers only
    alice_phone = phone(alice)
    both(alice, alice_phone, shoot, "list")

    # Search: the best match first, words highlighted.
    alice.get_by_role("searchbox", name="Search articles").fill("vpn drops")
    with alice.expect_navigation():
        alice.get_by_role("button", name="Search").click()
    first = alice.locator(".list-group-item").first
    expect(first).to_contain_text("Connect to the office VPN")
    expect(first.locator("mark").first).to_be_visible()
    expect(alice.get_by_text("VPN tunnels drop hourly")).to_have_count(0)
    both(alice, alice_phone, shoot, "search")

    # An article, and a vote swapped in place by htmx (no page load).
    first.click()
    expect(alice.locator("h1")).to_have_text("Connect to the office VPN")
    url = alice.url
    alice.get_by_role("button", name="Yes").click()
    expect(alice.locator("#kb-vote")).to_contain_text("Thanks for telling us.")
    expect(alice.locator("#kb-vote")).to_contain_text("1 of 1 found it helpful")
    assert alice.url == url
    both(alice, alice_phone, shoot, "article")

    # Suggestions while the subject of a new ticket is typed, right under the subject field.
    alice.goto(live_url.site_url("acme", "/tickets/new/"))
    alice.get_by_label("Subject").press_sequentially("My vpn keeps dropping", delay=20)
    suggestions = alice.locator("#kb-suggest")
    expect(suggestions.get_by_role("link", name="Connect to the office VPN")).to_be_visible()
    expect(suggestions).not_to_contain_text("VPN tunnels drop hourly")  # engineers only
    subject_box = alice.get_by_label("Subject").bounding_box()
    box = suggestions.bounding_box()
    assert 0 < box["y"] - (subject_box["y"] + subject_box["height"]) < 60  # just below the field
    shoot(alice, "kb-suggestions-desktop")
    alice_phone.goto(alice.url)
    alice_phone.get_by_label("Subject").press_sequentially("password reset", delay=20)
    expect(alice_phone.locator("#kb-suggest").get_by_role("link", name="Reset your password")).to_be_visible()
    shoot(alice_phone, "kb-suggestions-phone")

    # Dismissing the announcement removes it in place, and it stays away.
    alice.goto(live_url.site_url("acme", "/"))
    banner = alice.locator(".announcement", has_text=ANNOUNCEMENT)
    banner.get_by_role("button", name=re.compile("Dismiss")).click()
    expect(banner).to_have_count(0)
    alice.reload()
    expect(alice.locator("h1")).to_be_visible()
    expect(alice.locator(".announcement", has_text=ANNOUNCEMENT)).to_have_count(0)


@pytest.fixture
def committed_ticket(committed_kb, world):
    """A resolved VPN ticket on acme (removed by the browser conftest's ticket clean-up)."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Category

    def create():
        staff, engineer = User.objects.get(email=CAST["acme_staff"]), User.objects.get(email=CAST["engineer_acme"])
        with tenant_context(Client.objects.get(subdomain="acme")):
            ticket = services.ticket_create(
                requester=staff, subject="VPN drops every hour", category=Category.objects.get(slug="network"),
                description="<p>Since Monday the VPN disconnects about every hour.</p>",
            )  # fmt: skip
            services.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>Raised the lease.</p>")
            services.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status="resolved")
            return ticket.number

    return committed(create)


def login_at_root(page, live_url, email: str) -> None:
    page.goto(live_url.root_url("/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_engineer_links_an_article_and_drafts_one_from_the_ticket(committed_ticket, page, phone, shoot, live_url):
    ben = page
    login_on_site(ben, live_url, "acme", CAST["engineer_acme"], f"/tickets/{committed_ticket}/")
    panel = ben.locator("section", has=ben.get_by_role("heading", name="Knowledge base"))
    related = panel.locator("li", has=ben.get_by_role("link", name="VPN tunnels drop hourly: firewall DHCP lease"))
    expect(related.locator(".badge")).to_have_text("Engineers only")
    with ben.expect_navigation():
        related.get_by_role("button", name="Link").click()
    expect(ben.get_by_role("status").first).to_contain_text("the requester does not see it")
    with ben.expect_navigation():
        panel.locator("li", has=ben.get_by_role("link", name="Connect to the office VPN")).get_by_role(
            "button", name="Link"
        ).click()
    expect(panel).to_contain_text("Linked to this ticket")
    ben_phone = phone(ben)
    both(ben, ben_phone, shoot, "ticket-panel-engineer")
    with ben.expect_navigation():
        panel.get_by_role("button", name="Turn into an article draft").click()
    expect(ben.locator("h1")).to_have_text("Edit article")
    expect(ben.get_by_label("Title")).to_have_value("VPN drops every hour")
    expect(ben.get_by_label("Who can read it")).to_have_value("engineers")
    expect(ben.locator(".ProseMirror[contenteditable=true]")).to_contain_text("Raised the lease.")  # editor runs
    both(ben, ben_phone, shoot, "article-form")
    ben.goto(live_url.site_url("acme", "/kb/"))
    expect(ben.locator(".badge", has_text="Engineers only").first).to_be_visible()
    both(ben, ben_phone, shoot, "list-engineer")


def test_requester_sees_only_the_requester_link_on_the_ticket(committed_ticket, page, live_url):
    from tests.processes import committed as run

    def link_both():
        from django_tenants.utils import tenant_context

        from shared_apps.accounts.models import User
        from shared_apps.tenancy.models import Client
        from tenant_apps.knowledge import services
        from tenant_apps.knowledge.models import Article
        from tenant_apps.tickets.models import Ticket

        engineer = User.objects.get(email=CAST["engineer_acme"])
        with tenant_context(Client.objects.get(subdomain="acme")):
            ticket = Ticket.objects.get(number=committed_ticket)
            for title in ("Connect to the office VPN", "VPN tunnels drop hourly: firewall DHCP lease"):
                article = Article.objects.get(title=title)
                services.ticket_article_link(ticket=ticket, actor=engineer, role="engineer", article=article)

    run(link_both)
    login_on_site(page, live_url, "acme", CAST["acme_staff"], f"/tickets/{committed_ticket}/")
    panel = page.locator("section", has=page.get_by_role("heading", name="Knowledge base"))
    expect(panel).to_contain_text("Articles from support")
    expect(panel.get_by_role("link", name="Connect to the office VPN")).to_be_visible()
    expect(panel).not_to_contain_text("firewall")
    assert "VPN tunnels drop hourly" not in page.content()


def test_root_pages_for_global_articles_and_announcements(committed_kb, page, phone, shoot, live_url):
    login_at_root(page, live_url, CAST["platform"])
    page.goto(live_url.root_url("/announcements/"))
    expect(page.get_by_role("link", name=ANNOUNCEMENT)).to_be_visible()
    expect(page.get_by_text("Showing now")).to_be_visible()
    platform_phone = phone(page)
    both(page, platform_phone, shoot, "announcements")
    page.get_by_role("link", name="New announcement").click()
    expect(page.get_by_label("Every site")).to_be_visible()
    both(page, platform_phone, shoot, "announcement-form")
    page.goto(live_url.root_url("/kb/"))
    expect(page.get_by_role("link", name="Set up two-factor authentication")).to_be_visible()
    both(page, platform_phone, shoot, "global-articles")
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.locator("h1")).to_have_text("Edit global article")
    expect(page.locator(".ProseMirror[contenteditable=true]")).to_contain_text("recovery codes")
    both(page, platform_phone, shoot, "global-article-form")
