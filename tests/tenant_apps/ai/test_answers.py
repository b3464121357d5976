"""Reply drafts for engineers and assistant answers for requesters: asked in a request, written
by a worker from the whole public conversation, the knowledge at hand and image attachments."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from tenant_apps.ai.models import AICorrection, AIResult
from tenant_apps.ai.services import _site_examples, answer_request, categorization_review, ticket_categorize
from tenant_apps.tickets import services
from tenant_apps.tickets.models import Category, Message, TicketEvent
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.tenant_apps.tickets.test_attachments import png_bytes, upload


@pytest.fixture
def ticket(in_acme, users):
    ticket = services.ticket_create(
        requester=users["acme_staff"],
        subject="VPN drops every hour",
        description="<p>The VPN disconnects every hour since Monday.</p>",
        attachments=[upload("error.png", png_bytes())],
    )
    services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", body="<p>Which client?</p>")
    services.ticket_reply(ticket=ticket, actor=users["engineer_acme"], role="engineer", internal=True,
                          body="<p>INTERNAL: their firewall contract expired</p>")  # fmt: skip
    services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff", body="<p>GlobalProtect 6.1</p>")
    return ticket


def _ask(capture, ticket, user, role, kind) -> AIResult:
    with capture(execute=True):
        result = answer_request(ticket=ticket, actor=user, role=role, kind=kind)
    result.refresh_from_db()
    return result


def test_an_engineer_gets_a_draft_from_the_whole_public_conversation(
    ticket, users, use_openai, django_capture_on_commit_callbacks
):
    use_openai.reply_text = "Hello,\n\n1. Update GlobalProtect.\n2. <script>alert(1)</script> Reconnect.\n\nThanks"
    result = _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    assert (result.state, result.provider, result.model, result.fallback_reason) == ("done", "openai", "gpt-test", "")
    assert result.output.startswith("<p>Hello,</p><ol><li>Update GlobalProtect.</li>")
    assert "<script>" not in result.output and "&lt;script&gt;" in result.output  # shown as text, never run
    body = use_openai.requests[-1]["body"]
    assert body["stream"] is True
    sent = json.dumps(body)
    assert "VPN disconnects every hour" in sent and "Which client?" in sent and "GlobalProtect 6.1" in sent
    assert "INTERNAL" not in sent  # internal notes never go into a draft
    images = [part for part in body["messages"][1]["content"] if part["type"] == "image_url"]
    assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert result.tokens_in == 120 and result.tokens_out > 0


def test_gemini_drafts_carry_image_parts(ticket, users, use_gemini, django_capture_on_commit_callbacks):
    result = _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    assert (result.state, result.provider) == ("done", "gemini")
    request = use_gemini.requests[-1]
    assert "streamGenerateContent" in request["path"]
    parts = request["body"]["contents"][0]["parts"]
    assert any(
        "inlineData" in part and part["inlineData"].get("mimeType", part["inlineData"].get("mime_type")) == "image/png"
        for part in parts
    )


def test_a_long_conversation_is_trimmed_keeping_the_ticket_and_the_newest_messages(
    ticket, users, use_openai, settings, django_capture_on_commit_callbacks
):
    settings.AI_CONTEXT_TOKENS = 600
    for n in range(30):
        services.ticket_reply(ticket=ticket, actor=users["acme_staff"], role="staff",
                              body=f"<p>update {n:02d} " + "words " * 60 + "</p>")  # fmt: skip
    _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    sent = json.dumps(use_openai.requests[-1]["body"])
    assert "VPN disconnects every hour" in sent and "update 29" in sent
    assert "update 00" not in sent


def test_a_draft_falls_back_offline_when_the_provider_is_down(
    ticket, users, use_openai, django_capture_on_commit_callbacks
):
    use_openai.default = "500"
    result = _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    assert (result.state, result.provider) == ("done", "offline")
    assert result.fallback_reason == "openai failed: OpenAI answered HTTP 500"
    assert result.output


def test_sending_a_reply_from_a_draft_records_the_model(ticket, users, use_openai, django_capture_on_commit_callbacks):
    result = _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    client = http(ACME_HOST, users["engineer_acme"])
    connection.set_schema_to_public()
    page = client.get(f"/tickets/{ticket.number}/?draft={result.pk}")
    assert "check and edit it before sending" in page.content.decode()
    assert page.context["reply_form"].initial["ai_draft"] == result.pk
    response = client.post(f"/tickets/{ticket.number}/reply/", {"body": "<p>Edited draft</p>", "ai_draft": result.pk})
    assert response.status_code == 302
    connection.set_tenant(ticket_site(ticket))
    message = Message.objects.filter(ticket=ticket).latest("pk")
    assert (message.body, message.ai_model) == ("<p>Edited draft</p>", "openai/gpt-test")
    assert TicketEvent.objects.filter(ticket=ticket, kind="reply").latest("pk").note == "AI-assisted (openai/gpt-test)"


def ticket_site(ticket):
    from shared_apps.tenancy.models import Client

    return Client.objects.get(subdomain="acme")


def test_someone_elses_draft_cannot_be_claimed(ticket, users, use_openai, django_capture_on_commit_callbacks):
    result = _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    connection.set_schema_to_public()
    client = http(ACME_HOST, users["engineer_all"])
    client.post(f"/tickets/{ticket.number}/reply/", {"body": "<p>mine</p>", "ai_draft": result.pk})
    assert client.get(f"/tickets/{ticket.number}/ai/answers/{result.pk}/").status_code == 404
    connection.set_tenant(ticket_site(ticket))
    assert Message.objects.filter(ticket=ticket).latest("pk").ai_model == ""


def test_the_requester_asks_the_assistant_and_the_answer_lands_in_the_thread(
    ticket, users, offline_only, django_capture_on_commit_callbacks
):
    result = _ask(django_capture_on_commit_callbacks, ticket, users["acme_staff"], "staff", "assistant")
    assert (result.state, result.provider) == ("done", "offline")
    message = Message.objects.filter(ticket=ticket, kind="ai").get()
    assert message.author_id is None and message.ai_model.startswith("offline/")
    assert TicketEvent.objects.filter(ticket=ticket, kind="ai_reply").exists()
    connection.set_schema_to_public()
    page = http(ACME_HOST, users["acme_staff"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert "Written by an AI assistant" in page and "This solved it" in page


def test_this_solved_it_resolves_the_ticket(ticket, users, offline_only, django_capture_on_commit_callbacks):
    _ask(django_capture_on_commit_callbacks, ticket, users["acme_staff"], "staff", "assistant")
    message = Message.objects.get(ticket=ticket, kind="ai")
    connection.set_schema_to_public()
    response = http(ACME_HOST, users["acme_staff"]).post(f"/tickets/{ticket.number}/ai/solved/{message.pk}/")
    assert response.status_code == 302
    connection.set_tenant(ticket_site(ticket))
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert TicketEvent.objects.filter(ticket=ticket, kind="status").latest("pk").note == (
        "The assistant's answer solved it."
    )


def test_only_ai_messages_can_be_marked_as_the_solution(ticket, users):
    reply = Message.objects.filter(ticket=ticket, kind="public").first()
    with pytest.raises(ValidationError):
        services.ticket_resolve_by_assistant(ticket=ticket, actor=users["acme_staff"], role="staff", message=reply)


def test_roles_drafts_for_engineers_the_assistant_for_the_client_side(ticket, users):
    with pytest.raises(PermissionDenied):
        answer_request(ticket=ticket, actor=users["acme_staff"], role="staff", kind="draft")
    with pytest.raises(PermissionDenied):
        answer_request(ticket=ticket, actor=users["engineer_acme"], role="engineer", kind="assistant")


def test_asking_twice_while_one_is_running_returns_the_running_one(ticket, users):
    first = answer_request(ticket=ticket, actor=users["acme_staff"], role="staff", kind="assistant")
    second = answer_request(ticket=ticket, actor=users["acme_staff"], role="staff", kind="assistant")
    assert first.pk == second.pk and AIResult.objects.filter(kind="assistant").count() == 1


def test_the_page_polls_a_pending_answer_and_shows_the_draft_when_done(
    ticket, users, use_openai, django_capture_on_commit_callbacks
):
    connection.set_schema_to_public()
    client = http(ACME_HOST, users["engineer_acme"])
    response = client.post(f"/tickets/{ticket.number}/ai/draft/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "Drafting a reply" in html and 'hx-trigger="every 1s"' in html
    connection.set_tenant(ticket_site(ticket))
    result = AIResult.objects.get(kind="draft")
    from tenant_apps.ai.services import answer_produce

    answer_produce(result.pk)
    connection.set_schema_to_public()
    done = client.get(f"/tickets/{ticket.number}/ai/answers/{result.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Use this draft" in done and "every 1s" not in done


def test_ai_pages_are_hidden_from_other_sites(ticket, users):
    connection.set_schema_to_public()
    for user in ("globex_staff", "globex_admin", "outsider"):
        client = http(ACME_HOST, users[user])
        assert client.post(f"/tickets/{ticket.number}/ai/ask/").status_code == 404
        assert client.post(f"/tickets/{ticket.number}/ai/draft/").status_code == 404
    # and a globex user on globex cannot reach acme's ticket number either
    assert http(GLOBEX_HOST, users["globex_staff"]).post(f"/tickets/{ticket.number}/ai/ask/").status_code == 404


def test_engineers_see_the_ai_label_and_accept_it(ticket, users, offline_only, django_capture_on_commit_callbacks):
    result = ticket_categorize(ticket.pk)
    connection.set_schema_to_public()
    client = http(ACME_HOST, users["engineer_acme"])
    page = client.get(f"/tickets/{ticket.number}/").content.decode()
    assert f"({result.confidence_percent} %)" in page and "Accept" in page
    staff_page = http(ACME_HOST, users["acme_staff"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert "Accept" not in staff_page and "Ask the assistant" in staff_page
    assert client.post(f"/tickets/{ticket.number}/ai/review/", {"decision": "accept"}).status_code == 302
    connection.set_tenant(ticket_site(ticket))
    correction = AICorrection.objects.get()
    assert correction.accepted and correction.category_slug == result.category_slug


def test_a_correction_is_recorded_and_feeds_the_offline_model(ticket, users, offline_only):
    result = ticket_categorize(ticket.pk)
    security = Category.objects.get(slug="security")
    accepted = categorization_review(ticket=ticket, actor=users["engineer_acme"], role="engineer", result=result,
                                     category=security, priority="urgent")  # fmt: skip
    assert accepted is False
    ticket.refresh_from_db()
    assert (ticket.category.slug, ticket.priority) == ("security", "urgent")
    correction = AICorrection.objects.get()
    assert (correction.predicted_category, correction.category_slug) == (result.category_slug, "security")
    assert _site_examples() == [{"subject": "VPN drops every hour", "description": "The VPN disconnects every hour "
                                 "since Monday.", "category": "security", "priority": "urgent"}]  # fmt: skip
    result.refresh_from_db()
    assert result.reviewed == "corrected"


def test_the_client_side_cannot_review_the_ai(ticket, users, offline_only):
    result = ticket_categorize(ticket.pk)
    with pytest.raises(PermissionDenied):
        categorization_review(ticket=ticket, actor=users["acme_admin"], role="admin", result=result)


def test_engineer_drafts_use_similar_resolved_tickets_the_assistant_never_does(
    ticket, users, use_openai, django_capture_on_commit_callbacks
):
    old = services.ticket_create(requester=users["acme_admin"], subject="VPN disconnects hourly",
                                 description="<p>The VPN drops every hour.</p>")  # fmt: skip
    services.ticket_reply(ticket=old, actor=users["engineer_acme"], role="engineer",
                          body="<p>Fixed: raised the firewall DHCP lease to 8 hours.</p>")  # fmt: skip
    services.ticket_transition(ticket=old, actor=users["engineer_acme"], role="engineer", new_status="resolved")
    _ask(django_capture_on_commit_callbacks, ticket, users["engineer_acme"], "engineer", "draft")
    draft_request = json.dumps(use_openai.requests[-1]["body"])
    assert f"Ticket #{old.number}: VPN disconnects hourly" in draft_request
    assert "raised the firewall DHCP lease to 8 hours" in draft_request
    _ask(django_capture_on_commit_callbacks, ticket, users["acme_staff"], "staff", "assistant")
    assert "DHCP lease" not in json.dumps(use_openai.requests[-1]["body"])  # someone else's ticket
