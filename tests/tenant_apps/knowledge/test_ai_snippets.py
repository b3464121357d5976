"""`article_snippets_for_ai`: what the AI may read of the knowledge base, for whom."""

import pytest
from django.db import connection

from tenant_apps.ai.providers.base import KnowledgeSnippet
from tenant_apps.knowledge import services
from tenant_apps.knowledge.selectors import SNIPPET_CHARS, article_snippets_for_ai
from tests.tenant_apps.knowledge.conftest import assert_no_secrets


@pytest.fixture
def on_acme(kb, acme):
    connection.set_tenant(acme)
    return kb


def test_requester_snippets_are_published_requester_articles_of_the_site_and_global(on_acme):
    kb = on_acme
    snippets = article_snippets_for_ai("vpn keeps dropping, authenticator", audience="requester", limit=10)
    assert {s.title for s in snippets} == {kb.vpn.title, kb.mfa.title}
    assert all(isinstance(s, KnowledgeSnippet) and s.source == "article" for s in snippets)
    assert_no_secrets(" ".join(f"{s.title} {s.text} {s.url}" for s in snippets))
    urls = {s.title: s.url for s in snippets}
    assert urls == {kb.vpn.title: f"/kb/{kb.vpn.slug}/", kb.mfa.title: f"/kb/global/{kb.mfa.slug}/"}


def test_engineer_snippets_include_engineers_only_articles_but_never_drafts(on_acme):
    kb = on_acme
    titles = {s.title for s in article_snippets_for_ai("vpn firewall concentrator", audience="engineer", limit=10)}
    assert {kb.vpn.title, kb.firewall.title, kb.global_runbook.title} <= titles
    assert kb.draft.title not in titles and kb.global_draft.title not in titles


def test_snippets_are_ranked_by_relevance(on_acme):
    kb = on_acme
    assert article_snippets_for_ai("firewall lease", audience="engineer")[0].title == kb.firewall.title
    assert article_snippets_for_ai("two-factor authenticator app", audience="requester")[0].title == kb.mfa.title
    assert len(article_snippets_for_ai("vpn", audience="engineer", limit=2)) == 2


def test_snippet_text_is_plain_and_trimmed(on_acme, users):
    long_body = "<p>Printer &amp; scanner <strong>setup</strong>.</p>" + "<p>" + "toner cartridge " * 400 + "</p>"
    services.article_create(
        actor=users["engineer_acme"], role="engineer", title="Printer setup", body=long_body, status="published"
    )
    snippet = article_snippets_for_ai("printer toner", audience="requester")[0]
    assert snippet.title == "Printer setup"
    assert snippet.text.startswith("Printer & scanner setup.")
    assert "<" not in snippet.text and "&amp;" not in snippet.text
    assert len(snippet.text) <= SNIPPET_CHARS + 2 and snippet.text.endswith("…")


def test_snippet_text_keeps_the_articles_list_items_one_per_line(on_acme, users):
    body = (
        "<p>You need the VPN to reach the file shares\nfrom home.</p><ol><li>Open <strong>GlobalProtect</strong>.</li>"
        "<li>Approve the sign-in.</li></ol><h3>If it drops</h3><ul><li>Disconnect &amp; connect again.</li></ul>"
    )
    services.article_create(
        actor=users["engineer_acme"], role="engineer", title="Office VPN", body=body, status="published"
    )
    snippet = article_snippets_for_ai("office vpn globalprotect", audience="requester")[0]
    assert snippet.text.splitlines() == [
        "You need the VPN to reach the file shares from home.",
        "1. Open GlobalProtect.",
        "2. Approve the sign-in.",
        "If it drops",
        "- Disconnect & connect again.",
    ]


def test_no_words_no_snippets_and_a_bad_audience_is_refused(on_acme):
    assert article_snippets_for_ai("", audience="requester") == []
    assert article_snippets_for_ai("?! --", audience="engineer") == []
    with pytest.raises(ValueError):
        article_snippets_for_ai("vpn", audience="staff")


def test_snippets_are_per_site(kb, globex):
    connection.set_tenant(globex)
    titles = {s.title for s in article_snippets_for_ai("vpn authenticator", audience="engineer", limit=10)}
    assert kb.vpn.title not in titles and kb.firewall.title not in titles  # acme's own
    assert kb.mfa.title in titles  # global
