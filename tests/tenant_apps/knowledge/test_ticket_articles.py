"""The knowledge base on the ticket page: related articles, links an engineer adds, and turning a
resolved ticket into a draft article. Client users never see an engineers-only article there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.publishing import services as publishing
from tenant_apps.knowledge import services
from tenant_apps.knowledge.models import Article, TicketArticleLink
from tenant_apps.tickets import services as tickets
from tenant_apps.tickets.models import Category
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.tenant_apps.knowledge.conftest import assert_no_secrets


@pytest.fixture
def ticket(kb, acme, users):
    connection.set_tenant(acme)
    ticket = tickets.ticket_create(
        requester=users["acme_staff"], subject="VPN drops every hour",
        description="<p>My VPN disconnects and I lose my session.</p>", category=Category.objects.get(slug="network"),
    )  # fmt: skip
    connection.set_schema_to_public()
    return ticket


def _panel(user, ticket) -> str:
    page = http(ACME_HOST, user).get(f"/tickets/{ticket.number}/").content.decode()
    return page.split('id="kb-panel-title"')[1].split("</section>")[0]


def _links(site, **filters):
    connection.set_tenant(site)
    return TicketArticleLink.objects.filter(**filters)


def _link(user, ticket, reference: str):
    return http(ACME_HOST, user).post(f"/tickets/{ticket.number}/articles/link/", {"article": reference})


def test_requester_sees_related_articles_but_no_engineers_only_one(ticket, kb, users):
    for who in ("acme_staff", "acme_admin"):
        panel = _panel(users[who], ticket)
        assert kb.vpn.title in panel
        assert_no_secrets(panel)
        assert "/articles/link/" not in panel  # no link buttons for client users


def test_engineer_sees_related_engineer_articles_with_link_buttons(ticket, kb, users):
    panel = _panel(users["engineer_acme"], ticket)
    assert kb.vpn.title in panel and kb.firewall.title in panel and kb.global_runbook.title in panel
    assert kb.draft.title not in panel and kb.global_draft.title not in panel
    assert f'action="/tickets/{ticket.number}/articles/link/"' in panel


def test_related_articles_of_the_tickets_category_come_without_a_matching_word(kb, users, acme):
    connection.set_tenant(acme)
    other = tickets.ticket_create(
        requester=users["acme_staff"], subject="Something odd", description="<p>zzz</p>",
        category=Category.objects.get(slug="network"),
    )  # fmt: skip
    connection.set_schema_to_public()
    assert kb.vpn.title in _panel(users["acme_staff"], other)


def test_a_linked_engineer_article_stays_hidden_from_the_requester(ticket, kb, users, acme):
    engineer = users["engineer_acme"]
    response = _link(engineer, ticket, kb.firewall.slug)
    assert response.status_code == 302
    assert _link(engineer, ticket, f"http://acme.example/kb/{kb.vpn.slug}/").status_code == 302
    assert _link(engineer, ticket, f"/kb/global/{kb.mfa.slug}/").status_code == 302
    assert _link(engineer, ticket, f"/kb/global/{kb.mfa.slug}/").status_code == 302  # twice: one link
    assert _links(acme, ticket=ticket).count() == 3
    engineer_panel = _panel(engineer, ticket)
    assert engineer_panel.count(">Unlink</button>") == 3 and "Engineers only" in engineer_panel
    for who in ("acme_staff", "acme_admin"):
        panel = _panel(users[who], ticket)
        assert "Articles from support" in panel and kb.vpn.title in panel and kb.mfa.title in panel
        assert_no_secrets(panel)


def test_a_link_disappears_for_the_requester_when_its_article_is_hidden_later(ticket, kb, users, acme):
    _link(users["engineer_acme"], ticket, kb.vpn.slug)
    assert kb.vpn.title in _panel(users["acme_staff"], ticket)
    connection.set_tenant(acme)
    services.article_update(
        article=kb.vpn, actor=users["engineer_acme"], role="engineer", title=kb.vpn.title, body=kb.vpn.body,
        category=None, visibility="engineers", status="published",
    )  # fmt: skip
    connection.set_schema_to_public()
    assert kb.vpn.title not in _panel(users["acme_staff"], ticket)
    assert kb.vpn.title in _panel(users["engineer_acme"], ticket)


def test_drafts_and_unknown_articles_cannot_be_linked(ticket, kb, users, acme):
    engineer = http(ACME_HOST, users["engineer_acme"])
    for reference in (kb.draft.slug, f"/kb/global/{kb.global_draft.slug}/", "no-such-article", " "):
        response = engineer.post(f"/tickets/{ticket.number}/articles/link/", {"article": reference}, follow=True)
        assert response.status_code == 200
    assert not _links(acme, ticket=ticket).exists()


@pytest.mark.parametrize("who", ["acme_staff", "acme_admin"])
def test_client_users_cannot_link_unlink_or_draft(ticket, kb, users, acme, who):
    assert _link(users[who], ticket, kb.vpn.slug).status_code == 302
    assert not _links(acme, ticket=ticket).exists()
    link = TicketArticleLink.objects.create(ticket=ticket, article=kb.vpn, linked_by=users["engineer_acme"])
    client = http(ACME_HOST, users[who])
    client.post(f"/tickets/{ticket.number}/articles/{link.pk}/unlink/")
    assert _links(acme, pk=link.pk).exists()
    client.post(f"/tickets/{ticket.number}/articles/draft/")
    connection.set_tenant(acme)
    assert not Article.objects.filter(source_ticket=ticket).exists()


def test_users_of_another_site_get_404(ticket, kb, users):
    for who in ("globex_staff", "outsider", "platform"):
        client = http(ACME_HOST, users[who])
        assert client.post(f"/tickets/{ticket.number}/articles/link/", {"article": kb.vpn.slug}).status_code == 404
        assert client.post(f"/tickets/{ticket.number}/articles/draft/").status_code == 404
    # An engineer of globex only sees globex's ticket of that number, not acme's.
    assert (
        http(GLOBEX_HOST, users["engineer_acme"]).post(f"/tickets/{ticket.number}/articles/draft/").status_code == 404
    )


def test_an_engineer_unlinks(ticket, kb, users, acme):
    _link(users["engineer_acme"], ticket, kb.vpn.slug)
    link = _links(acme, ticket=ticket).get()
    response = http(ACME_HOST, users["engineer_acme"]).post(f"/tickets/{ticket.number}/articles/{link.pk}/unlink/")
    assert response.status_code == 302 and not _links(acme).exists()


def test_a_requester_cannot_unlink_or_probe_other_tickets_links(ticket, kb, users, acme):
    connection.set_tenant(acme)
    theirs = tickets.ticket_create(requester=users["acme_admin"], subject="Admin's", description="<p>x</p>")
    link = TicketArticleLink.objects.create(ticket=theirs, article=kb.vpn, linked_by=users["engineer_acme"])
    connection.set_schema_to_public()
    response = http(ACME_HOST, users["acme_staff"]).post(f"/tickets/{theirs.number}/articles/{link.pk}/unlink/")
    assert response.status_code == 404


# --- a resolved ticket becomes a draft article ------------------------------------------


def _resolved(acme, users, ticket):
    connection.set_tenant(acme)
    engineer = users["engineer_acme"]
    tickets.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>Which client version?</p>")
    tickets.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>notesecret lease</p>", internal=True)
    tickets.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="<p>Version 5.2.1</p>")
    tickets.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>Update to 5.3 and reconnect.</p>")
    tickets.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status="resolved")
    connection.set_schema_to_public()


def test_an_engineer_turns_a_resolved_ticket_into_a_draft(ticket, kb, users, acme):
    engineer = http(ACME_HOST, users["engineer_acme"])
    assert "Turn into an article draft" not in _panel(users["engineer_acme"], ticket)  # not resolved yet
    engineer.post(f"/tickets/{ticket.number}/articles/draft/")
    connection.set_tenant(acme)
    assert not Article.objects.filter(source_ticket=ticket).exists()
    _resolved(acme, users, ticket)
    assert "Turn into an article draft" in _panel(users["engineer_acme"], ticket)
    response = engineer.post(f"/tickets/{ticket.number}/articles/draft/")
    connection.set_tenant(acme)
    article = Article.objects.select_related("category").get(source_ticket=ticket)
    connection.set_schema_to_public()
    assert response.status_code == 302 and response["Location"] == f"/kb/{article.slug}/edit/"
    assert article.title == "VPN drops every hour" and article.status == "draft"
    assert article.visibility == "engineers" and article.category.slug == "network"
    body = article.body
    assert body.index("My VPN disconnects") < body.index("Version 5.2.1") < body.index("<h2>Solution</h2>")
    assert "Which client version?" in body and "Update to 5.3" in body
    assert "notesecret" not in body  # internal notes never
    # Asking again opens the same draft; the requester never sees it.
    assert engineer.post(f"/tickets/{ticket.number}/articles/draft/")["Location"] == f"/kb/{article.slug}/edit/"
    connection.set_tenant(acme)
    assert Article.objects.filter(source_ticket=ticket).count() == 1
    assert http(ACME_HOST, users["acme_staff"]).get(f"/kb/{article.slug}/").status_code == 404
    form = engineer.get(f"/kb/{article.slug}/edit/").content.decode()
    assert "Drafted from ticket" in form and f'href="/tickets/{ticket.number}/"' in form


def test_ticket_page_costs_a_fixed_number_of_queries_for_the_panel(ticket, kb, users, acme):
    """The panel adds two queries (links, related articles) whatever the number of articles."""
    client = http(ACME_HOST, users["engineer_acme"])
    client.get(f"/tickets/{ticket.number}/")

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/tickets/{ticket.number}/").status_code == 200
        return len(captured.captured_queries)

    few = count()
    _link(users["engineer_acme"], ticket, kb.vpn.slug)
    _link(users["engineer_acme"], ticket, f"/kb/global/{kb.mfa.slug}/")
    connection.set_tenant(acme)
    for n in range(40):
        services.article_create(
            actor=users["engineer_acme"], role="engineer", title=f"VPN tip {n}", body="<p>vpn</p>", status="published"
        )
    connection.set_schema_to_public()
    publishing.global_article_create(
        actor=users["platform"], role="platform", title="VPN everywhere", body="<p>vpn</p>", visibility="requesters",
        status="published",
    )  # fmt: skip
    assert count() == few
