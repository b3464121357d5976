"""The assistant and the ticket page agree on the knowledge base: what the page lists beside a
ticket (linked and related articles) is what the answer considers first, for the same reader.

The shape of the demo's GLOBEX-1: "Email bouncing for all staff", an engineer "checking the MX
records", and a requester article "My email bounced: what to check" that the page lists as
related (PostgreSQL's English stemming matches "bouncing" to "bounced") while the offline
model's TF-IDF, which compared words unstemmed, rated it below its similarity threshold, so the
answer said it "couldn't find an article"."""

import json

import pytest
from django.db import connection

from tenant_apps.ai.models import AIResult
from tenant_apps.ai.services import _knowledge, _thread, answer_request
from tenant_apps.knowledge import services as knowledge
from tenant_apps.knowledge.selectors import article_related_for
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Category, Message
from tests.conftest import GLOBEX_HOST, http

SECRET = "mxsecret"  # only in the engineers-only article


@pytest.fixture
def outage(globex, users):
    """GLOBEX-1 of the demo, with the demo's Globex articles that matter."""
    connection.set_tenant(globex)
    ana = users["engineer_all"]

    def article(title, slug, visibility, body):
        return knowledge.article_create(
            actor=ana, role="engineer", title=title, body=body, category=Category.objects.get(slug=slug),
            visibility=visibility, status="published",
        )  # fmt: skip

    bounced = article(
        "My email bounced: what to check", "email", "requesters",
        "<ul><li>Check the address for typos.</li><li>Files over 25 MB bounce: share a link instead.</li>"
        "<li>If every message bounces, we are probably already on it: look for an announcement at the top of "
        "this page before opening a ticket.</li></ul>",
    )  # fmt: skip
    routing = article(
        "Globex mail routing and MX records", "email", "engineers",
        f"<p>{SECRET}: any MX still pointing at relay.globex.example causes bounces for all staff.</p>",
    )  # fmt: skip
    article("Report a phishing email", "security", "requesters",
            "<p>Do not click links or open attachments. In Outlook choose Report, Phishing.</p>")  # fmt: skip
    article("Join the guest Wi-Fi", "network", "requesters",
            "<p>Guests are limited to the internet; use the staff network for printers.</p>")  # fmt: skip
    ticket = services.ticket_create(
        requester=users["globex_staff"], subject="Email bouncing for all staff", description="<p>Since 9:00.</p>",
        priority="urgent", category=Category.objects.get(slug="email"),
    )  # fmt: skip
    services.ticket_reply(ticket=ticket, actor=ana, role="engineer", body="<p>Checking the MX records.</p>")
    return ticket, bounced, routing


def _ask(capture, ticket, user, role, kind) -> AIResult:
    with capture(execute=True):
        result = answer_request(ticket=ticket, actor=user, role=role, kind=kind)
    result.refresh_from_db()
    return result


def test_the_assistant_answers_from_the_related_article_the_ticket_page_lists(
    outage, users, offline_only, django_capture_on_commit_callbacks
):
    ticket, bounced, _ = outage
    staff = users["globex_staff"]
    related = article_related_for(ticket=ticket, user=staff, role="staff")
    assert [row.title for row in related] == [bounced.title]
    thread = _thread(ticket, for_requester=True)
    candidates = _knowledge(ticket, thread, for_requester=True)
    assert candidates[0].title == bounced.title  # what the page lists comes first
    assert all(SECRET not in snippet.text for snippet in candidates)

    result = _ask(django_capture_on_commit_callbacks, ticket, staff, "staff", "assistant")
    assert result.provider == "offline"
    assert [source["title"] for source in result.sources] == [bounced.title]
    message = Message.objects.get(ticket=ticket, kind="ai")
    assert "couldn't find an article" not in message.body
    assert "<li>Check the address for typos.</li>" in message.body
    everything = json.dumps([message.body, result.sources, result.raw_output, result.output])
    assert SECRET not in everything and "MX records" not in everything.replace("Checking the MX records", "")
    connection.set_schema_to_public()
    page = http(GLOBEX_HOST, staff).get(f"/tickets/{ticket.number}/").content.decode()
    assert "couldn't find an article" not in page and page.count(bounced.title) >= 2  # answer + related
    assert SECRET not in page


def test_a_linked_engineers_only_article_reaches_engineer_drafts_never_the_assistant(
    outage, users, use_openai, django_capture_on_commit_callbacks
):
    ticket, bounced, routing = outage
    ana = users["engineer_all"]
    knowledge.ticket_article_link(ticket=ticket, actor=ana, role="engineer", article=routing)
    knowledge.ticket_article_link(ticket=ticket, actor=ana, role="engineer", article=bounced)

    _ask(django_capture_on_commit_callbacks, ticket, users["globex_staff"], "staff", "assistant")
    assistant_request = json.dumps(use_openai.requests[-1]["body"])
    assert "Check the address for typos." in assistant_request  # the linked requester article
    assert SECRET not in assistant_request and routing.title not in assistant_request

    _ask(django_capture_on_commit_callbacks, ticket, ana, "engineer", "draft")
    draft_request = json.dumps(use_openai.requests[-1]["body"])
    assert SECRET in draft_request and "Check the address for typos." in draft_request
