"""Global articles: written on the root domain by platform admins and engineers, one row shown on
every client site."""

import pytest
from django.db import connection

from shared_apps.publishing.models import GlobalArticle
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http

FORM = {
    "title": "Spot a phishing email",
    "body": '<p>Check the sender.<script>alert(1)</script><a href="javascript:x()">x</a></p>',
    "category_slug": "security",
    "visibility": "requesters",
    "status": "published",
}


@pytest.mark.parametrize("who", ["platform", "engineer_acme"])
def test_publishers_write_a_global_article_that_every_site_shows(users, who):
    client = http(ROOT, users[who])
    assert client.post("/kb/new/", FORM).status_code == 302
    article = GlobalArticle.objects.get()
    assert "<script" not in article.body and "javascript:" not in article.body
    assert article.author == users[who] and article.slug == "spot-a-phishing-email"
    for user, host in ((users["acme_staff"], ACME_HOST), (users["globex_staff"], GLOBEX_HOST)):
        assert "Spot a phishing email" in http(host, user).get("/kb/?q=phishing").content.decode()
        assert http(host, user).get(f"/kb/global/{article.slug}/").status_code == 200
    assert "Spot a phishing email" in client.get("/kb/").content.decode()
    connection.set_schema_to_public()


def test_unpublishing_takes_it_off_every_site_at_once(users):
    client = http(ROOT, users["engineer_all"])
    client.post("/kb/new/", FORM)
    article = GlobalArticle.objects.get()
    response = client.post(f"/kb/{article.slug}/edit/", {**FORM, "title": "Phishing (old)", "status": "draft"})
    assert response.status_code == 302
    for user, host in ((users["acme_staff"], ACME_HOST), (users["globex_staff"], GLOBEX_HOST)):
        assert http(host, user).get(f"/kb/global/{article.slug}/").status_code == 404
        assert "Phishing" not in http(host, user).get("/kb/").content.decode()
    article.refresh_from_db()
    assert article.slug == "spot-a-phishing-email" and article.title == "Phishing (old)"


def test_an_engineers_only_global_article_is_for_engineers(users):
    http(ROOT, users["platform"]).post("/kb/new/", {**FORM, "visibility": "engineers", "title": "Phish triage"})
    slug = GlobalArticle.objects.get().slug
    assert http(ACME_HOST, users["acme_admin"]).get(f"/kb/global/{slug}/").status_code == 404
    assert http(ACME_HOST, users["engineer_acme"]).get(f"/kb/global/{slug}/").status_code == 200


def test_a_bad_category_or_an_empty_body_is_refused(users):
    client = http(ROOT, users["platform"])
    assert client.post("/kb/new/", {**FORM, "category_slug": "gardening"}).status_code == 400
    response = client.post("/kb/new/", {**FORM, "body": "<p></p>"})
    assert response.status_code == 400 and "Write something first." in response.content.decode()
    assert not GlobalArticle.objects.exists()


def test_client_users_get_404_on_the_root_pages(users):
    http(ROOT, users["platform"]).post("/kb/new/", FORM)
    slug = GlobalArticle.objects.get().slug
    for who in ("acme_admin", "acme_staff", "outsider"):
        assert http(ROOT, users[who]).get(f"/kb/{slug}/edit/").status_code == 404
        assert http(ROOT, users[who]).post(f"/kb/{slug}/edit/", FORM).status_code == 404
    assert http(ROOT, None).get("/kb/").status_code == 302
