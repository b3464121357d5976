"""Knowledge-base reads at 5,000 articles on one site (the demo's acme), in a transaction that is
rolled back. Run after `python manage.py demo`:

    python manage.py shell < benchmarks/knowledge_search.py

Articles are 5 random words of title and 250 of body from a 50-word IT vocabulary, so nearly
every search matches half the site's articles: a worst case for ranking, not a typical one.
Results and the machine's load: docs/benchmarks.md.
"""

import random
import statistics
import time

from django.contrib.postgres.search import SearchVector
from django.core.paginator import Paginator
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.publishing.search import body_plain_text
from shared_apps.tenancy.models import Client
from tenant_apps.knowledge import selectors
from tenant_apps.knowledge.models import Article
from tenant_apps.tickets.models import Category, Ticket

ARTICLES = 5_000
WORDS = (
    "vpn printer password email outlook laptop wifi network firewall backup license teams sharepoint onedrive "
    "monitor keyboard docking station certificate browser chrome update windows mac phone mfa account locked "
    "disk slow crash install software access folder permission shared mailbox calendar meeting room screen"
).split()


class Rollback(Exception):
    pass


def timed(read, runs: int = 30) -> str:
    read()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        read()
        samples.append((time.perf_counter() - start) * 1000)
    return f"median {statistics.median(samples):.1f} ms, p90 {sorted(samples)[int(runs * 0.9) - 1]:.1f} ms"


def add_articles(author) -> None:
    categories = list(Category.objects.all())
    rows = []
    for n in range(ARTICLES):
        title = " ".join(random.choice(WORDS) for _ in range(5)).capitalize() + f" {n}"
        body = "<p>" + " ".join(random.choice(WORDS) for _ in range(250)) + "</p>"
        rows.append(
            Article(
                title=title,
                slug=f"bench-{n}",
                body=body,
                body_text=body_plain_text(body),
                category=random.choice(categories),
                visibility=random.choice(["requesters", "engineers"]),
                status="published",
                author=author,
            )  # fmt: skip
        )
    Article.objects.bulk_create(rows, batch_size=500)
    Article.objects.filter(slug__startswith="bench-").update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("body_text", weight="B", config="english")
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE knowledge_article")


def run() -> None:
    random.seed(1)
    acme = Client.objects.get(subdomain="acme")
    ben, alice = User.objects.get(email="ben@demo.test"), User.objects.get(email="alice@acme.demo.test")
    with tenant_context(acme):
        add_articles(ben)
        print("articles:", Article.objects.count())
        ticket = Ticket.objects.filter(subject="VPN drops every hour").first()

        def page(user, role, query):
            rows = selectors.article_list_for(user=user, role=role, query=query)
            current = Paginator(rows, 30).get_page(1)
            return selectors.rows_of(current.object_list, query=query), current.paginator.count

        print("list, no query (staff):", timed(lambda: page(alice, "staff", "")))
        print("search 'vpn password' (staff):", timed(lambda: page(alice, "staff", "vpn password")))
        print("search 'vpn password' (engineer):", timed(lambda: page(ben, "engineer", "vpn password")))
        suggest = lambda: selectors.article_suggestions_for(user=alice, role="staff", text="my vpn keeps dropping")  # noqa: E731
        print("suggestions (staff):", timed(suggest))
        related = lambda: selectors.article_related_for(ticket=ticket, user=ben, role="engineer")  # noqa: E731
        print("related for a ticket (engineer):", timed(related))
        text = "vpn drops every hour since monday firewall lease"
        print("AI snippets (engineer):", timed(lambda: selectors.article_snippets_for_ai(text, audience="engineer")))


try:
    with transaction.atomic():
        run()
        raise Rollback
except Rollback:
    pass
