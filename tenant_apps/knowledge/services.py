"""Every write to a site's knowledge base. Services take the acting user and their role on the
site (`request.role`) and check what the role may do; visibility is the selectors' job.

Who writes: engineers covering the site write, publish and edit every article. A client admin
writes articles for their own people (visible to everyone on the site, never engineers-only) and
edits the ones they wrote: client admins know their company's own procedures (the meeting-room
booking, the office Wi-Fi, onboarding) better than the IT company, while what the IT company
keeps for itself (engineers-only articles, other people's articles) stays out of their reach.
Staff only read and vote.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.publishing.articles import clean_article_body, unique_slug
from shared_apps.publishing.models import ArticleStatus, GlobalArticle, GlobalArticleVote, Visibility
from shared_apps.publishing.search import article_vector
from tenant_apps.knowledge.models import Article, ArticleVote, TicketArticleLink
from tenant_apps.knowledge.selectors import ENGINEER, article_can_edit
from tenant_apps.tickets.models import Category, Message, Ticket

WRITERS = (ENGINEER, "admin")


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": ["Give the article a title."]})
    return title[:200]


def _check_fields(*, role: str, visibility: str, status: str) -> None:
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": ["Choose who can read the article."]})
    if status not in ArticleStatus.values:
        raise ValidationError({"status": ["Choose draft or published."]})
    if role != ENGINEER and visibility != Visibility.REQUESTERS:
        raise PermissionDenied("Only engineers write engineers-only articles.")


def _search_refresh(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(search_vector=article_vector(article.title, article.body_text))


@transaction.atomic
def article_create(
    *,
    actor,
    role: str,
    title: str,
    body: str,
    category: Category | None = None,
    visibility: str = Visibility.REQUESTERS,
    status: str = ArticleStatus.DRAFT,
    source_ticket: Ticket | None = None,
) -> Article:
    if role not in WRITERS:
        raise PermissionDenied("Only engineers and client admins write articles.")
    _check_fields(role=role, visibility=visibility, status=status)
    title = _clean_title(title)
    body, text = clean_article_body(body)
    slug = unique_slug(title, taken=lambda s: Article.objects.filter(slug=s).exists())
    article = Article.objects.create(
        title=title,
        slug=slug,
        body=body,
        body_text=text,
        category=category,
        visibility=visibility,
        status=status,
        author=actor,
        source_ticket=source_ticket,
    )
    _search_refresh(article)
    return article


@transaction.atomic
def article_update(
    *, article: Article, actor, role: str, title: str, body: str, category, visibility: str, status: str
) -> Article:
    """The slug stays as it was, so links to the article keep working."""
    if not article_can_edit(user=actor, role=role, article=article):
        raise PermissionDenied("You cannot edit this article.")
    _check_fields(role=role, visibility=visibility, status=status)
    article.title = _clean_title(title)
    article.body, article.body_text = clean_article_body(body)
    article.category, article.visibility, article.status = category, visibility, status
    article.updated_at = timezone.now()
    article.save()
    _search_refresh(article)
    return article


def _vote(model, *, lookup: dict, helpful: bool, extra: dict | None = None):
    values = {"helpful": bool(helpful), "updated_at": timezone.now(), **(extra or {})}
    try:
        with transaction.atomic():
            vote, _ = model.objects.update_or_create(**lookup, defaults=values)
    except IntegrityError:  # the same person voting twice at once: the other request created it
        vote = model.objects.get(**lookup)
        model.objects.filter(pk=vote.pk).update(**values)
    return vote


def article_vote(*, article: Article, user, helpful: bool) -> ArticleVote:
    """One vote per person and article; voting again changes it. The caller read the article
    through `article_get_for`, so the voter can see it."""
    return _vote(ArticleVote, lookup={"article": article, "user": user}, helpful=helpful)


def global_article_vote(*, article: GlobalArticle, user, client, helpful: bool) -> GlobalArticleVote:
    return _vote(
        GlobalArticleVote, lookup={"article": article, "user": user}, helpful=helpful, extra={"client": client}
    )


def ticket_article_link(*, ticket: Ticket, actor, role: str, article: Article | GlobalArticle) -> TicketArticleLink:
    """Point a ticket at an article (idempotent). The requester sees the link only while the
    article is published and visible to requesters (selectors.ticket_links_for)."""
    if role != ENGINEER:
        raise PermissionDenied("Only engineers link articles to tickets.")
    if isinstance(article, GlobalArticle):
        target = {"global_article": article}
    else:
        target = {"article": article}
    if article.status != ArticleStatus.PUBLISHED:
        raise ValidationError("Publish the article before linking it.")
    with transaction.atomic():
        link, _ = TicketArticleLink.objects.get_or_create(ticket=ticket, **target, defaults={"linked_by": actor})
    return link


def ticket_article_unlink(*, link: TicketArticleLink, actor, role: str) -> None:
    if role != ENGINEER:
        raise PermissionDenied("Only engineers unlink articles.")
    link.delete()


FROM_TICKET_STATUSES = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


@transaction.atomic
def article_draft_from_ticket(*, ticket: Ticket, actor, role: str) -> Article:
    """A draft article from a resolved ticket: its subject as the title, the problem as the
    requester described it and the public replies (never internal notes). Engineers-only until
    an engineer reviews it, so nothing from one client's conversation reaches the site's readers
    by accident. Asking again returns the same draft."""
    if role != ENGINEER:
        raise PermissionDenied("Only engineers turn tickets into articles.")
    if ticket.status not in FROM_TICKET_STATUSES:
        raise ValidationError("Only a resolved or closed ticket can become an article.")
    existing = Article.objects.filter(source_ticket=ticket).order_by("pk").first()
    if existing is not None:
        return existing
    replies = ticket.messages.filter(kind=Message.Kind.PUBLIC).order_by("created_at", "pk")
    # The requester's own follow-ups describe the problem; everyone else's replies solve it.
    details = [reply.body for reply in replies if reply.author_id == ticket.requester_id]
    answers = [reply for reply in replies if reply.author_id != ticket.requester_id]
    parts = ["<h2>Problem</h2>", ticket.description, *details]
    if answers:
        parts.append("<h2>Solution</h2>")
        parts.extend(reply.body for reply in answers)
    return article_create(
        actor=actor,
        role=role,
        title=ticket.subject,
        body="\n".join(parts),
        category=ticket.category,
        visibility=Visibility.ENGINEERS,
        status=ArticleStatus.DRAFT,
        source_ticket=ticket,
    )
