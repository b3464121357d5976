"""The demo's knowledge base and announcement: there after `manage.py demo`, and the same after a
second run."""

import io

from django.core.management import call_command
from django.db import connection

from shared_apps.publishing.models import Announcement, GlobalArticle
from tenant_apps.knowledge.models import Article, TicketArticleLink


def _counts(acme, globex):
    counts = {}
    for site in (acme, globex):
        connection.set_tenant(site)
        counts[site.subdomain] = {
            visibility: Article.objects.filter(visibility=visibility, status="published").count()
            for visibility in ("requesters", "engineers")
        }
        counts[site.subdomain]["links"] = TicketArticleLink.objects.count()
    connection.set_schema_to_public()
    counts["global"] = GlobalArticle.objects.filter(status="published").count()
    counts["announcements"] = Announcement.objects.count()
    return counts


def test_demo_loads_articles_and_an_announcement_once(acme, globex):
    call_command("demo", stdout=io.StringIO())
    first = _counts(acme, globex)
    assert first["acme"] == {"requesters": 5, "engineers": 3, "links": 2}
    assert first["globex"] == {"requesters": 5, "engineers": 3, "links": 0}
    assert first["global"] == 3 and first["announcements"] == 1
    call_command("demo", stdout=io.StringIO())
    assert _counts(acme, globex) == first
