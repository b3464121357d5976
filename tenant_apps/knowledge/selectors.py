"""Reads of the knowledge base, always scoped by who is reading.

Who sees what (the invariant every path below keeps):
- engineers covering the site: every article of the site (drafts too, on the knowledge-base
  pages) and every published global article;
- client users (staff and client admins): published articles visible to requesters, site and
  global; a client admin also sees the drafts they wrote themselves (services.py decides who
  writes). Suggestions, related articles, ticket links and AI snippets for client users never
  include a draft, not even their own.

Global articles (public schema) are read in the same query as the site's through
`search_path` (tenant, public), merged by rank with UNION ALL.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchHeadline, SearchRank
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Left
from django.http import Http404
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from shared_apps.publishing.models import ArticleStatus, GlobalArticle, Visibility
from shared_apps.publishing.search import CONFIG, any_words_query, search_query
from tenant_apps.ai.providers.base import KnowledgeSnippet
from tenant_apps.knowledge.models import Article, ArticleVote, TicketArticleLink
from tenant_apps.tickets.models import Category, Ticket
from tenant_apps.tickets.richtext import outline_text

ENGINEER = "engineer"
CLIENT_ROLES = ("admin", "staff")
SITE, GLOBAL = "site", "global"
# Headline markers: characters no article contains, turned into <mark> after escaping.
_START, _STOP = "\ue000", "\ue001"
SNIPPET_CHARS = 2_000
AI_QUERY_WORDS = 30  # the AI asks with a whole conversation, not a subject line
EXCERPT_CHARS = 220
# Suggestions and related articles keep only matches at least this fraction as relevant as the
# best one: a ticket about a dropping VPN should not also list every article that says "drop".
RELATIVE_RANK_FLOOR = 0.3

PUBLISHED = Q(status=ArticleStatus.PUBLISHED)
FOR_REQUESTERS = PUBLISHED & Q(visibility=Visibility.REQUESTERS)


# --- who sees which article -------------------------------------------------------------


def article_visible_to(*, user, role: str | None, drafts: bool = True) -> QuerySet[Article]:
    """This site's articles `user` may read. `drafts=False` for suggestions, related articles
    and anything else shown next to a ticket: published articles only, whoever asks."""
    if role == ENGINEER:
        return Article.objects.all() if drafts else Article.objects.filter(PUBLISHED)
    if role not in CLIENT_ROLES:
        return Article.objects.none()
    visible = FOR_REQUESTERS
    if drafts and role == "admin":
        visible |= Q(author=user, visibility=Visibility.REQUESTERS)
    return Article.objects.filter(visible)


def global_article_visible_to(*, role: str | None) -> QuerySet[GlobalArticle]:
    """Global articles on a client site: published ones (drafts are edited on the root domain)."""
    if role == ENGINEER:
        return GlobalArticle.objects.filter(PUBLISHED)
    if role in CLIENT_ROLES:
        return GlobalArticle.objects.filter(FOR_REQUESTERS)
    return GlobalArticle.objects.none()


def _audience_role(audience: str) -> str:
    if audience not in ("requester", ENGINEER):
        raise ValueError(f"audience must be 'requester' or 'engineer', not {audience!r}")
    return ENGINEER if audience == ENGINEER else "staff"


def article_get_for(*, user, role: str | None, slug: str) -> Article:
    """404 for a missing article and for one the user may not see (the same answer)."""
    article = article_visible_to(user=user, role=role).select_related("category").filter(slug=slug).first()
    if article is None:
        raise Http404("No such article")
    return article


def global_article_get_for(*, role: str | None, slug: str) -> GlobalArticle:
    article = global_article_visible_to(role=role).filter(slug=slug).first()
    if article is None:
        raise Http404("No such article")
    return article


def article_can_edit(*, user, role: str | None, article: Article) -> bool:
    """Engineers edit every article of the site; a client admin edits the ones they wrote."""
    return role == ENGINEER or (role == "admin" and article.author_id == user.pk)


# --- lists, search, suggestions ---------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    """One line of a list: an article of this site or a global one."""

    kind: str  # SITE | GLOBAL
    pk: int
    slug: str
    title: str
    category: str
    visibility: str
    status: str
    updated_at: datetime
    rank: float
    excerpt: SafeString

    @property
    def url(self) -> str:
        name = "article_detail" if self.kind == SITE else "global_article_detail"
        return reverse(name, kwargs={"slug": self.slug})

    @property
    def is_global(self) -> bool:
        return self.kind == GLOBAL

    @property
    def engineers_only(self) -> bool:
        return self.visibility == Visibility.ENGINEERS

    @property
    def is_draft(self) -> bool:
        return self.status == ArticleStatus.DRAFT


_ROW_FIELDS = ("r_kind", "r_pk", "r_slug", "r_title", "r_category", "r_visibility", "r_status", "r_updated", "r_rank")


def _rows(queryset, *, kind: str, category, rank) -> QuerySet:
    """Both tables as the same small columns, in the same order, for UNION ALL. Excerpts are read
    afterwards for the page's rows only (`rows_of`): ts_headline re-reads a whole body, and
    PostgreSQL cannot postpone it past the LIMIT of a UNION."""
    return queryset.annotate(
        r_kind=Value(kind, output_field=CharField()),
        r_pk=F("pk"),
        r_slug=F("slug"),
        r_title=F("title"),
        r_category=category,
        r_visibility=F("visibility"),
        r_status=F("status"),
        r_updated=F("updated_at"),
        r_rank=rank,
    ).values(*_ROW_FIELDS)


def _merged(site: QuerySet[Article], globals_: QuerySet[GlobalArticle], *, query, boost_category=None) -> QuerySet:
    """Site and global articles as one ranked queryset of row dicts (one query when read).

    With a `query`, only matching articles; `boost_category` (a category slug) adds 0.2 to the
    rank of articles in it and lets them in without a match."""
    no_rank = Value(0.0, output_field=FloatField())
    site_rank = global_rank = no_rank
    if query is not None:
        site_rank, global_rank = SearchRank(F("search_vector"), query), SearchRank(F("search_vector"), query)
        match_site, match_global = Q(search_vector=query), Q(search_vector=query)
        if boost_category:
            boost = {"default": Value(0.0), "output_field": FloatField()}
            site_rank = site_rank + Case(When(category__slug=boost_category, then=Value(0.2)), **boost)
            global_rank = global_rank + Case(When(category_slug=boost_category, then=Value(0.2)), **boost)
            match_site |= Q(category__slug=boost_category)
            match_global |= Q(category_slug=boost_category)
        site, globals_ = site.filter(match_site), globals_.filter(match_global)
    category_name = Subquery(Category.objects.filter(slug=OuterRef("category_slug")).values("name")[:1])
    site = _rows(site, kind=SITE, category=F("category__name"), rank=Cast(site_rank, FloatField()))
    globals_ = _rows(globals_, kind=GLOBAL, category=category_name, rank=Cast(global_rank, FloatField()))
    return site.union(globals_, all=True)


def _excerpt(text: str) -> str:
    """Escaped, with headline markers as <mark>, an ellipsis where it was cut."""
    text = " ".join((text or "").split())
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    if text and text[-1] not in ".!?:)":
        text += " …"
    return html.escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>")


def _excerpts(rows: list[dict], query) -> dict[tuple[str, int], str]:
    """Excerpts of the given rows (one query): the start of the body, or with a `query` the
    passage that matches it best, its words between markers."""
    if query is not None:
        excerpt = SearchHeadline(
            "body_text", query, config=CONFIG, start_sel=_START, stop_sel=_STOP, max_words=30, min_words=12
        )
    else:
        excerpt = Left("body_text", EXCERPT_CHARS + 1)
    parts = []
    for kind, model in ((SITE, Article), (GLOBAL, GlobalArticle)):
        ids = [row["r_pk"] for row in rows if row["r_kind"] == kind]
        if ids:
            kind_value = Value(kind, output_field=CharField())
            parts.append(
                model.objects.filter(pk__in=ids).annotate(e_kind=kind_value, e=excerpt).values("e_kind", "pk", "e")
            )
    if not parts:
        return {}
    merged = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return {(item["e_kind"], item["pk"]): item["e"] for item in merged}


def _row(values: dict, excerpt: str = "") -> ArticleRow:
    return ArticleRow(
        kind=values["r_kind"],
        pk=values["r_pk"],
        slug=values["r_slug"],
        title=values["r_title"],
        category=values["r_category"] or "",
        visibility=values["r_visibility"],
        status=values["r_status"],
        updated_at=values["r_updated"],
        rank=values["r_rank"],
        excerpt=mark_safe(_excerpt(excerpt)),  # noqa: S308 - escaped; only our markers become tags
    )


def rows_of(values, *, query: str = "", excerpts: bool = True) -> list[ArticleRow]:
    """Rows of a page as `ArticleRow`s, with excerpts (one more query) unless `excerpts=False`
    (suggestions and related articles show titles only)."""
    values = list(values)
    texts = _excerpts(values, search_query(query)) if excerpts and values else {}
    return [_row(item, texts.get((item["r_kind"], item["r_pk"]), "")) for item in values]


def _best(values, *, limit: int) -> list[dict]:
    """The first `limit` ranked rows, without those far less relevant than the best."""
    rows = list(values[:limit])
    if rows and rows[0]["r_rank"] > 0:
        floor = rows[0]["r_rank"] * RELATIVE_RANK_FLOOR
        rows = [row for row in rows if row["r_rank"] >= floor]
    return rows


def article_list_for(*, user, role: str | None, query: str = "", category: str = "") -> QuerySet:
    """The knowledge-base page: the site's and the global articles the user may read, as row
    dicts (wrap a page with `rows_of`). With `query`, full-text matches by rank; otherwise by
    title. Two queries for a page whatever the number of articles (count and rows)."""
    site = article_visible_to(user=user, role=role)
    globals_ = global_article_visible_to(role=role)
    if category:
        site = site.filter(category__slug=category)
        globals_ = globals_.filter(category_slug=category)
    search = search_query(query)
    merged = _merged(site, globals_, query=search)
    if search is not None:
        return merged.order_by("-r_rank", "r_title")
    return merged.order_by("r_title", "r_kind")


def article_suggestions_for(*, user, role: str | None, text: str, limit: int = 5) -> list[ArticleRow]:
    """Deflection: published articles the user may read that share words with what they are
    typing (a new ticket's subject), best first. Never a draft."""
    query = any_words_query(text)
    if query is None or len(text.strip()) < 3:
        return []
    site = article_visible_to(user=user, role=role, drafts=False)
    merged = _merged(site, global_article_visible_to(role=role), query=query)
    return rows_of(_best(merged.order_by("-r_rank", "r_title"), limit=limit), excerpts=False)


def article_related_for(*, ticket: Ticket, user, role: str | None, limit: int = 5) -> list[ArticleRow]:
    """Articles for a ticket's side panel: matching its subject and description, articles of its
    category ranked higher (and shown even without a matching word). Never a draft; for client
    users never an engineers-only article. Articles already linked to the ticket are left out."""
    from tenant_apps.tickets.richtext import plain_text

    query = any_words_query(f"{ticket.subject} {plain_text(ticket.description)[:300]}")
    category = ticket.category.slug if ticket.category_id else None
    if query is None and category is None:
        return []
    linked = TicketArticleLink.objects.filter(ticket=ticket)
    site = article_visible_to(user=user, role=role, drafts=False).exclude(
        pk__in=linked.filter(article__isnull=False).values("article_id")
    )
    globals_ = global_article_visible_to(role=role).exclude(
        pk__in=linked.filter(global_article__isnull=False).values("global_article_id")
    )
    if query is None:  # no words to go by: the category's newest articles
        site, globals_ = site.filter(category__slug=category), globals_.filter(category_slug=category)
        return rows_of(_merged(site, globals_, query=None).order_by("-r_updated")[:limit], excerpts=False)
    merged = _merged(site, globals_, query=query, boost_category=category)
    return rows_of(_best(merged.order_by("-r_rank", "r_title"), limit=limit), excerpts=False)


def article_snippets_for_ai(text: str, *, audience: str, limit: int = 5) -> list[KnowledgeSnippet]:
    """Knowledge for the AI: published articles of this site and global ones matching `text`,
    most relevant first, as plain text (at most ~2,000 characters each) with the article's path.

    `audience` "requester": only articles visible to requesters (what may be shown or quoted to
    a client user); "engineer": every published article, engineers-only ones included.
    """
    role = _audience_role(audience)
    query = any_words_query(text, max_words=AI_QUERY_WORDS)
    if query is None or limit <= 0:
        return []
    site = article_visible_to(user=None, role=role, drafts=False)
    merged = _merged(site, global_article_visible_to(role=role), query=query)
    rows = list(merged.order_by("-r_rank", "r_title")[:limit])
    bodies = _bodies(rows)
    snippets = []
    for values in rows:
        row = _row(values)
        body = bodies[(row.kind, row.pk)]
        snippets.append(KnowledgeSnippet(title=row.title, text=_trim(body), url=row.url, source="article"))
    return snippets


def article_snippets_for_ticket(*, ticket: Ticket, audience: str, limit: int = 5) -> list[KnowledgeSnippet]:
    """The articles the ticket page lists next to `ticket` for `audience` (its linked articles,
    then the related ones, from the selectors the page uses) as AI snippets, so that an answer
    considers what the page beside it lists. Published articles only; for "requester" only
    those visible to requesters, exactly as the page shows them to a client user."""
    role = _audience_role(audience)
    rows: list[dict] = []
    for link in ticket_links_for(ticket=ticket, role=role):
        article = link.article or link.global_article
        if article is None or article.status != ArticleStatus.PUBLISHED:
            continue  # an engineer's page marks a draft link; the AI never reads a draft
        rows.append({"r_kind": SITE if link.article_id else GLOBAL, "r_pk": article.pk, "title": article.title,
                     "url": reverse("article_detail" if link.article_id else "global_article_detail",
                                    kwargs={"slug": article.slug})})  # fmt: skip
    for row in article_related_for(ticket=ticket, user=None, role=role, limit=limit):
        rows.append({"r_kind": row.kind, "r_pk": row.pk, "title": row.title, "url": row.url})
    bodies = _bodies(rows)
    return [
        KnowledgeSnippet(title=row["title"], text=_trim(bodies[(row["r_kind"], row["r_pk"])]), url=row["url"])
        for row in rows
    ]


def _bodies(rows: list[dict]) -> dict[tuple[str, int], str]:
    """Whole bodies of the rows as outlined plain text (two small queries by primary key): the
    list markers stay, so the AI can tell an article's steps from its prose."""
    site_ids = [row["r_pk"] for row in rows if row["r_kind"] == SITE]
    global_ids = [row["r_pk"] for row in rows if row["r_kind"] == GLOBAL]
    bodies = {}
    if site_ids:
        found = Article.objects.filter(pk__in=site_ids).values_list("pk", "body")
        bodies.update({(SITE, pk): outline_text(body) for pk, body in found})
    if global_ids:
        found = GlobalArticle.objects.filter(pk__in=global_ids).values_list("pk", "body")
        bodies.update({(GLOBAL, pk): outline_text(body) for pk, body in found})
    return bodies


def _trim(text: str, limit: int = SNIPPET_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + " …"


def article_categories_for(*, user, role: str | None) -> list[Category]:
    """Categories for the knowledge base's filter: the site's active ones."""
    return list(Category.objects.filter(is_active=True))


# --- votes, ticket links ----------------------------------------------------------------


@dataclass(frozen=True)
class VoteSummary:
    yes: int
    no: int
    mine: bool | None  # the reader's own vote, if any

    @property
    def total(self) -> int:
        return self.yes + self.no


def _vote_summary(votes: QuerySet, *, user) -> VoteSummary:
    counts = votes.aggregate(
        yes=Count("pk", filter=Q(helpful=True)),
        no=Count("pk", filter=Q(helpful=False)),
        mine_yes=Count("pk", filter=Q(user=user, helpful=True)),
        mine_no=Count("pk", filter=Q(user=user, helpful=False)),
    )
    mine = True if counts["mine_yes"] else False if counts["mine_no"] else None
    return VoteSummary(yes=counts["yes"], no=counts["no"], mine=mine)


def article_votes_for(*, article: Article, user) -> VoteSummary:
    """One query."""
    return _vote_summary(ArticleVote.objects.filter(article=article), user=user)


def global_article_votes_for(*, article: GlobalArticle, user) -> VoteSummary:
    from shared_apps.publishing.models import GlobalArticleVote

    return _vote_summary(GlobalArticleVote.objects.filter(article=article), user=user)


def ticket_links_for(*, ticket: Ticket, role: str | None) -> QuerySet[TicketArticleLink]:
    """Articles linked to a ticket. Client users see a link only while its article is published
    and visible to requesters; engineers see every link (drafts and unpublished ones marked)."""
    links = TicketArticleLink.objects.filter(ticket=ticket).select_related("article", "global_article")
    if role == ENGINEER:
        return links
    if role not in CLIENT_ROLES:
        return links.none()
    site_ok = Q(article__status=ArticleStatus.PUBLISHED, article__visibility=Visibility.REQUESTERS)
    global_ok = Q(global_article__status=ArticleStatus.PUBLISHED, global_article__visibility=Visibility.REQUESTERS)
    return links.filter(site_ok | global_ok)


def ticket_link_get_for(*, ticket: Ticket, role: str | None, link_id: int) -> TicketArticleLink:
    link = ticket_links_for(ticket=ticket, role=role).filter(pk=link_id).first()
    if link is None:
        raise Http404("No such link")
    return link


def article_find_for_link(*, user, role: str | None, reference: str) -> Article | GlobalArticle | None:
    """An article named by its address (…/kb/<slug>/ or …/kb/global/<slug>/) or slug, among
    those the engineer may see (published site articles first, then global ones)."""
    reference = reference.strip().rstrip("/")
    is_global = "/kb/global/" in reference
    slug = reference.rsplit("/", 1)[-1]
    if not slug:
        return None
    if not is_global:
        article = article_visible_to(user=user, role=role, drafts=False).filter(slug=slug).first()
        if article is not None:
            return article
    return global_article_visible_to(role=role).filter(slug=slug).first()
