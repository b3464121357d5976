"""Knowledge-base pages on acme, as each role and as users of another site: who reads which
article, search, suggestions while a ticket is typed, votes, and who writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.publishing.models import GlobalArticleVote
from tenant_apps.knowledge import services
from tenant_apps.knowledge.models import Article, ArticleVote
from tests.conftest import ACME_HOST, GLOBEX_HOST, http
from tests.tenant_apps.knowledge.conftest import SECRET_TITLES, assert_no_secrets

CLIENT_USERS = ("acme_staff", "acme_admin")
ENGINEERS = ("engineer_acme", "engineer_all")


def _get(user, path, host=ACME_HOST, **extra):
    return http(host, user).get(path, **extra)


@pytest.mark.parametrize("who", CLIENT_USERS)
def test_client_users_list_only_published_requester_articles(kb, users, who):
    page = _get(users[who], "/kb/").content.decode()
    for title in (kb.vpn.title, kb.printer.title, kb.mfa.title):
        assert title in page
    assert_no_secrets(page)


@pytest.mark.parametrize("who", ENGINEERS)
def test_engineers_list_every_site_article_and_published_global_ones(kb, users, who):
    page = _get(users[who], "/kb/").content.decode()
    for title in (kb.vpn.title, kb.firewall.title, kb.draft.title, kb.mfa.title, kb.global_runbook.title):
        assert title in page
    assert kb.global_draft.title not in page  # global drafts stay on the root domain
    assert "Engineers only" in page and "Draft" in page


@pytest.mark.parametrize(
    ("who", "vpn", "firewall", "draft"),
    [
        ("acme_staff", 200, 404, 404),
        ("acme_admin", 200, 404, 404),  # an engineer's draft is not the admin's own
        ("engineer_acme", 200, 200, 200),
        ("engineer_all", 200, 200, 200),
        ("globex_staff", 404, 404, 404),
        ("globex_admin", 404, 404, 404),
        ("outsider", 404, 404, 404),
        ("platform", 404, 404, 404),
    ],
)
def test_article_page_per_role(kb, users, who, vpn, firewall, draft):
    for article, status in ((kb.vpn, vpn), (kb.firewall, firewall), (kb.draft, draft)):
        response = _get(users[who], f"/kb/{article.slug}/")
        assert response.status_code == status, (who, article.slug)
        if status == 404:
            assert article.title not in response.content.decode()


def test_anonymous_goes_to_login(kb):
    response = _get(None, f"/kb/{kb.vpn.slug}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_articles_body_is_shown_sanitized(kb, users, acme):
    connection.set_tenant(acme)
    article = services.article_create(
        actor=users["engineer_acme"], role="engineer", title="Links", status="published",
        body='<p onclick="steal()">Go <a href="javascript:alert(1)">here</a><script>alert(2)</script></p>',
    )  # fmt: skip
    connection.set_schema_to_public()
    page = _get(users["acme_staff"], f"/kb/{article.slug}/").content.decode()
    main = page.split("<main")[1]
    assert "steal()" not in main and "javascript:" not in main and "alert(2)" not in main
    assert "Go <a" in main


@pytest.mark.parametrize("host", [ACME_HOST, GLOBEX_HOST])
def test_a_global_article_is_one_row_shown_on_every_site(kb, users, host):
    staff = users["acme_staff"] if host == ACME_HOST else users["globex_staff"]
    page = _get(staff, f"/kb/global/{kb.mfa.slug}/", host=host)
    assert page.status_code == 200 and "Install an authenticator app" in page.content.decode()
    assert kb.mfa.title in _get(staff, "/kb/", host=host).content.decode()
    for hidden in (kb.global_runbook, kb.global_draft):
        assert _get(staff, f"/kb/global/{hidden.slug}/", host=host).status_code == 404
    engineer = users["engineer_all"]
    assert _get(engineer, f"/kb/global/{kb.global_runbook.slug}/", host=host).status_code == 200
    assert _get(engineer, f"/kb/global/{kb.global_draft.slug}/", host=host).status_code == 404


def test_one_sites_articles_stay_on_that_site(kb, users):
    # Globex's own people and an engineer covering globex: acme's article is not on globex.
    for who in ("globex_staff", "engineer_all"):
        assert _get(users[who], f"/kb/{kb.vpn.slug}/", host=GLOBEX_HOST).status_code == 404
        assert kb.vpn.title not in _get(users[who], "/kb/", host=GLOBEX_HOST).content.decode()


# --- search -----------------------------------------------------------------------------


def _result_titles(user, query: str) -> list[str]:
    page = _get(user, f"/kb/?q={query}").content.decode()
    return [part.split("</span>")[0] for part in page.split('<span class="fw-semibold me-auto">')[1:]]


def test_search_never_shows_client_users_engineer_articles_or_drafts(kb, users):
    for who in CLIENT_USERS:
        titles = _result_titles(users[who], "vpn")
        assert titles and set(titles) <= {kb.vpn.title, kb.mfa.title}
        for word in ("firewallsecret", "draftsecret", "globalsecret", "globaldraftsecret", "runbook"):
            assert _result_titles(users[who], word) == [], word
    engineer_titles = _result_titles(users["engineer_acme"], "vpn")
    assert {kb.vpn.title, kb.firewall.title, kb.draft.title, kb.global_runbook.title} <= set(engineer_titles)


def test_search_ranks_title_matches_first_and_merges_global_articles(kb, users, acme):
    connection.set_tenant(acme)
    engineer = users["engineer_acme"]
    services.article_create(
        actor=engineer, role="engineer", title="Laptop docking stations", status="published",
        body="<p>Docks work with every laptop. Authenticator apps are unrelated.</p>",
    )  # fmt: skip
    connection.set_schema_to_public()
    # "authenticator": in the body of a site article and of a global one; "two-factor" only in
    # the global article's title.
    titles = _result_titles(users["acme_staff"], "two-factor authenticator")
    assert titles == [kb.mfa.title]
    titles = _result_titles(users["acme_staff"], "authenticator")
    assert titles[0] == kb.mfa.title and "Laptop docking stations" in titles
    # A title match outranks a body mention: "reconnect" is in the title of one article only.
    assert _result_titles(users["acme_staff"], "reconnect vpn")[0] == kb.vpn.title


def test_search_highlights_matches_and_escapes_the_rest(kb, users, acme):
    connection.set_tenant(acme)
    services.article_create(
        actor=users["engineer_acme"], role="engineer", title="Angle brackets", status="published",
        body="<p>Type &lt;b&gt;keyboard&lt;/b&gt; shortcuts on the keyboard &amp; mouse.</p>",
    )  # fmt: skip
    connection.set_schema_to_public()
    page = _get(users["acme_staff"], "/kb/?q=keyboard").content.decode()
    excerpt = page.split('kb-excerpt">')[1].split("</div>")[0]
    assert "<mark>keyboard</mark>" in excerpt
    assert "<b>" not in excerpt and "&amp; mouse" in excerpt  # text in the body never becomes markup


def test_category_filter(kb, users):
    page = _get(users["acme_staff"], "/kb/?category=security").content.decode()
    assert kb.mfa.title in page and kb.vpn.title not in page


# --- suggestions while a ticket is typed (deflection) -----------------------------------


def test_new_ticket_form_asks_for_suggestions_while_the_subject_is_typed(users):
    page = _get(users["acme_staff"], "/tickets/new/").content.decode()
    assert 'hx-get="/kb/suggest/"' in page
    assert 'hx-trigger="input changed delay:300ms from:#id_subject"' in page
    assert 'hx-include="#id_subject"' in page
    assert "/static/js/knowledge-suggest.js" in page


def test_suggestions_for_a_requester_are_published_requester_articles(kb, users):
    response = _get(users["acme_staff"], "/kb/suggest/?subject=My VPN keeps dropping", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page  # a fragment for htmx
    assert kb.vpn.title in page and f'href="/kb/{kb.vpn.slug}/"' in page
    assert_no_secrets(page)
    # Prefixes count: "print" finds the printer article.
    assert kb.printer.title in _get(users["acme_staff"], "/kb/suggest/?subject=print").content.decode()


def test_suggestions_for_engineers_include_engineer_articles_but_never_drafts(kb, users):
    page = _get(users["engineer_acme"], "/kb/suggest/?subject=vpn firewall").content.decode()
    assert kb.firewall.title in page and kb.global_runbook.title in page
    assert kb.draft.title not in page and kb.global_draft.title not in page


def test_suggestions_leave_out_weak_and_filler_word_matches(kb, users, acme):
    connection.set_tenant(acme)
    make = dict(actor=users["engineer_acme"], role="engineer", status="published")
    services.article_create(title="Keep your laptop up to date", body="<p>Updates on Tuesdays.</p>", **make)
    services.article_create(title="Desk booking", body="<p>The VPN is not needed to book a desk.</p>", **make)
    connection.set_schema_to_public()
    page = _get(users["acme_staff"], "/kb/suggest/?subject=My VPN keeps dropping, please help").content.decode()
    assert kb.vpn.title in page
    assert "Keep your laptop" not in page  # "keeps" says nothing about the topic
    assert "Desk booking" not in page  # one passing mention, far below the best match


@pytest.mark.parametrize("subject", ["", "a", "??", "!!! ' \" & | :* ()"])
def test_suggestions_for_too_little_or_odd_text_are_empty(kb, users, subject):
    response = _get(users["acme_staff"], "/kb/suggest/", data={"subject": subject})
    assert response.status_code == 200 and response.content.decode().strip() == ""


def test_suggestions_on_another_site_are_404(kb, users):
    assert _get(users["globex_staff"], "/kb/suggest/?subject=vpn").status_code == 404


# --- votes ------------------------------------------------------------------------------


def test_one_vote_per_person_which_they_can_change(kb, users, acme):
    staff = http(ACME_HOST, users["acme_staff"])
    url = f"/kb/{kb.vpn.slug}/vote/"
    assert staff.post(url, {"helpful": "yes"}).status_code == 302
    response = staff.post(url, {"helpful": "no"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="kb-vote"' in response.content.decode()
    assert "0 of 1 found it helpful" in response.content.decode()
    http(ACME_HOST, users["acme_admin"]).post(url, {"helpful": "yes"})
    connection.set_tenant(acme)
    votes = dict(ArticleVote.objects.filter(article=kb.vpn).values_list("user_id", "helpful"))
    assert votes == {users["acme_staff"].pk: False, users["acme_admin"].pk: True}
    connection.set_schema_to_public()
    assert "1 of 2 found it helpful" in staff.get(f"/kb/{kb.vpn.slug}/").content.decode()


def test_nobody_votes_on_an_article_they_cannot_see(kb, users, acme):
    assert (
        http(ACME_HOST, users["acme_staff"]).post(f"/kb/{kb.firewall.slug}/vote/", {"helpful": "yes"}).status_code
        == 404
    )
    assert (
        http(GLOBEX_HOST, users["globex_staff"]).post(f"/kb/{kb.vpn.slug}/vote/", {"helpful": "yes"}).status_code == 404
    )
    connection.set_tenant(acme)
    assert not ArticleVote.objects.exists()


def test_global_votes_are_stored_once_per_person_with_the_site(kb, users, acme, globex):
    url = f"/kb/global/{kb.mfa.slug}/vote/"
    http(ACME_HOST, users["acme_staff"]).post(url, {"helpful": "yes"})
    http(ACME_HOST, users["acme_staff"]).post(url, {"helpful": "no"})
    http(GLOBEX_HOST, users["globex_staff"]).post(url, {"helpful": "yes"})
    votes = GlobalArticleVote.objects.filter(article=kb.mfa)
    assert sorted(votes.values_list("client__subdomain", "helpful")) == [("acme", False), ("globex", True)]
    hidden = f"/kb/global/{kb.global_runbook.slug}/vote/"
    assert http(ACME_HOST, users["acme_staff"]).post(hidden, {"helpful": "yes"}).status_code == 404


# --- who writes -------------------------------------------------------------------------


def test_staff_cannot_write_articles(kb, users):
    staff = http(ACME_HOST, users["acme_staff"])
    assert staff.get("/kb/new/").status_code == 403
    assert staff.post("/kb/new/", {"title": "Mine", "body": "<p>x</p>", "status": "published"}).status_code == 403
    assert staff.get(f"/kb/{kb.vpn.slug}/edit/").status_code == 403
    assert "New article" not in staff.get("/kb/").content.decode()


def test_client_admins_write_for_everyone_on_their_site_only(kb, users, acme):
    admin = http(ACME_HOST, users["acme_admin"])
    assert 'name="visibility"' not in admin.get("/kb/new/").content.decode()
    response = admin.post(
        "/kb/new/", {"title": "Office Wi-Fi", "body": "<p>Network <b>AcmeGuest</b></p>", "status": "published",
                     "visibility": "engineers"},
    )  # fmt: skip
    assert response.status_code == 302
    connection.set_tenant(acme)
    article = Article.objects.get(title="Office Wi-Fi")
    assert article.visibility == "requesters" and article.author_id == users["acme_admin"].pk
    connection.set_schema_to_public()
    assert admin.get(f"/kb/{article.slug}/edit/").status_code == 200
    assert admin.get(f"/kb/{kb.vpn.slug}/edit/").status_code == 403  # an engineer's article
    assert "Office Wi-Fi" in http(ACME_HOST, users["acme_staff"]).get("/kb/").content.decode()


def test_a_client_admin_sees_their_own_drafts_but_nobody_elses(kb, users, acme):
    connection.set_tenant(acme)
    mine = services.article_create(
        actor=users["acme_admin"], role="admin", title="Holiday rota draft", body="<p>wip</p>", status="draft"
    )
    connection.set_schema_to_public()
    assert _get(users["acme_admin"], f"/kb/{mine.slug}/").status_code == 200
    assert _get(users["acme_staff"], f"/kb/{mine.slug}/").status_code == 404
    assert "Holiday rota draft" not in _get(users["acme_staff"], "/kb/").content.decode()
    # ...and never in suggestions, even their own
    assert "Holiday rota" not in _get(users["acme_admin"], "/kb/suggest/?subject=holiday rota").content.decode()


def test_engineers_write_and_edit_every_article(kb, users, acme):
    engineer = http(ACME_HOST, users["engineer_acme"])
    response = engineer.post(
        f"/kb/{kb.printer.slug}/edit/",
        {"title": "Book the printer", "body": "<p>At reception.</p>", "category": "", "visibility": "engineers",
         "status": "published"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == f"/kb/{kb.printer.slug}/"
    assert _get(users["acme_staff"], f"/kb/{kb.printer.slug}/").status_code == 404  # now engineers-only
    # ...and its author (the client admin) can no longer see it either.
    assert _get(users["acme_admin"], f"/kb/{kb.printer.slug}/").status_code == 404


def test_an_empty_article_is_refused_with_the_form_kept(users):
    response = http(ACME_HOST, users["engineer_acme"]).post(
        "/kb/new/", {"title": "Empty", "body": "<p> </p>", "visibility": "requesters", "status": "published"}
    )
    assert response.status_code == 400 and "Write something first." in response.content.decode()


def test_slugs_are_unique_and_avoid_the_knowledge_bases_own_urls(users, acme):
    connection.set_tenant(acme)
    make = dict(actor=users["engineer_acme"], role="engineer", body="<p>x</p>", status="published")
    assert services.article_create(title="New", **make).slug == "new-2"
    assert services.article_create(title="Printer", **make).slug == "printer"
    assert services.article_create(title="Printer", **make).slug == "printer-2"


# --- query counts -----------------------------------------------------------------------


def _count_queries(client, path) -> int:
    client.get(path)  # warm: host lookup and the announcements cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def _bulk(acme, users, count, prefix):
    connection.set_tenant(acme)
    for n in range(count):
        services.article_create(
            actor=users["engineer_acme"], role="engineer", title=f"{prefix} printer article {n}",
            body=f"<p>Printer tip number {n}.</p>", status="published",
        )  # fmt: skip
    connection.set_schema_to_public()


def test_list_and_search_cost_the_same_queries_for_few_or_many_articles(kb, users, acme):
    staff, engineer = http(ACME_HOST, users["acme_staff"]), http(ACME_HOST, users["engineer_acme"])
    # search_path, session, user, role (engineer profile, membership), count, rows (site and
    # global articles in one UNION ALL), their excerpts, categories; the announcements come from
    # the cache
    few = {
        "list": _count_queries(staff, "/kb/"),
        "search": _count_queries(staff, "/kb/?q=printer"),
        "engineer": _count_queries(engineer, "/kb/?q=printer"),
    }
    assert few["list"] == 9
    _bulk(acme, users, 80, "Bulk")
    assert _count_queries(staff, "/kb/") == few["list"]
    assert _count_queries(staff, "/kb/?q=printer") == few["search"]
    assert _count_queries(engineer, "/kb/?q=printer") == few["engineer"]


def test_article_page_queries_are_pinned(kb, users, acme):
    staff = http(ACME_HOST, users["acme_staff"])
    # search_path, session, user, role (engineer profile, membership), article with category,
    # votes (counts and the reader's own in one aggregate)
    few = _count_queries(staff, f"/kb/{kb.vpn.slug}/")
    assert few == 7
    connection.set_tenant(acme)
    for n in range(30):
        from tests.factories import user_create

        voter = user_create(f"voter{n}@acme.example")
        services.article_vote(article=kb.vpn, user=voter, helpful=n % 3 > 0)
    connection.set_schema_to_public()
    assert _count_queries(staff, f"/kb/{kb.vpn.slug}/") == few
    assert _count_queries(staff, f"/kb/global/{kb.mfa.slug}/") == few


def test_secret_titles_are_real_titles(kb):
    # The visibility tests look for these titles: keep them in step with the fixture.
    titles = {kb.firewall.title, kb.draft.title, kb.global_runbook.title, kb.global_draft.title}
    assert all(any(title.startswith(secret) for title in titles) for secret in SECRET_TITLES)
