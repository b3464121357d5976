"""Knowledge-base pages on a client site. The tenant-access middleware has set `request.role`;
articles come from selectors scoped by the reader; every change goes through a service."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenant_apps.knowledge import selectors, services
from tenant_apps.knowledge.forms import ArticleForm, LinkForm, VoteForm
from tenant_apps.knowledge.selectors import ENGINEER
from tenant_apps.tickets.selectors import ticket_get_for

PAGE_SIZE = 30


def _errors(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You cannot do that."


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def article_list(request):
    query, category = request.GET.get("q", "").strip(), request.GET.get("category", "")
    rows = selectors.article_list_for(user=request.user, role=request.role, query=query, category=category)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": selectors.rows_of(page.object_list, query=query),
        "query": query,
        "category": category,
        "categories": selectors.article_categories_for(user=request.user, role=request.role),
        "can_write": request.role in services.WRITERS,
        "is_engineer": request.role == ENGINEER,
    }
    return render(request, "knowledge/list.html", context)


def article_detail(request, slug: str):
    article = selectors.article_get_for(user=request.user, role=request.role, slug=slug)
    context = {
        "article": article,
        "is_global": False,
        "can_edit": selectors.article_can_edit(user=request.user, role=request.role, article=article),
        "votes": selectors.article_votes_for(article=article, user=request.user),
        "vote_url": request.path + "vote/",
        "is_engineer": request.role == ENGINEER,
    }
    return render(request, "knowledge/detail.html", context)


def global_article_detail(request, slug: str):
    article = selectors.global_article_get_for(role=request.role, slug=slug)
    context = {
        "article": article,
        "is_global": True,
        "can_edit": False,
        "votes": selectors.global_article_votes_for(article=article, user=request.user),
        "vote_url": request.path + "vote/",
        "is_engineer": request.role == ENGINEER,
    }
    return render(request, "knowledge/detail.html", context)


def _vote_answer(request, *, article, votes, vote_url: str):
    """htmx swaps the vote box in place; a plain form post goes back to the article."""
    if request.htmx:
        context = {"article": article, "votes": votes, "vote_url": vote_url, "thanks": True}
        return render(request, "knowledge/_vote.html", context)
    messages.success(request, "Thank you for your feedback.")
    return redirect(vote_url.removesuffix("vote/"))


@require_POST
def article_vote(request, slug: str):
    article = selectors.article_get_for(user=request.user, role=request.role, slug=slug)
    form = VoteForm(request.POST)
    if form.is_valid():
        services.article_vote(article=article, user=request.user, helpful=form.is_helpful)
    votes = selectors.article_votes_for(article=article, user=request.user)
    return _vote_answer(request, article=article, votes=votes, vote_url=request.path)


@require_POST
def global_article_vote(request, slug: str):
    article = selectors.global_article_get_for(role=request.role, slug=slug)
    form = VoteForm(request.POST)
    if form.is_valid():
        services.global_article_vote(article=article, user=request.user, client=request.tenant, helpful=form.is_helpful)
    votes = selectors.global_article_votes_for(article=article, user=request.user)
    return _vote_answer(request, article=article, votes=votes, vote_url=request.path)


def _article_form_page(request, *, form, article=None, status=200):
    return render(request, "knowledge/form.html", {"form": form, "article": article}, status=status)


def article_create(request):
    if request.role not in services.WRITERS:
        raise PermissionDenied
    form = ArticleForm(request.POST or None, engineer=request.role == ENGINEER)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.article_create(actor=request.user, role=request.role, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, "Article published." if article.is_published else "Draft saved.")
            return redirect("article_detail", slug=article.slug)
    return _article_form_page(request, form=form, status=400 if form.errors else 200)


def article_edit(request, slug: str):
    article = selectors.article_get_for(user=request.user, role=request.role, slug=slug)
    if not selectors.article_can_edit(user=request.user, role=request.role, article=article):
        raise PermissionDenied
    initial = {
        "title": article.title,
        "body": article.body,
        "category": article.category_id,
        "visibility": article.visibility,
        "status": article.status,
    }
    form = ArticleForm(request.POST or None, initial=initial, engineer=request.role == ENGINEER)
    if request.method == "POST" and form.is_valid():
        data = {"visibility": article.visibility, **form.cleaned_data}
        try:
            services.article_update(article=article, actor=request.user, role=request.role, **data)
        except ValidationError as error:
            _form_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, "Article saved.")
            return redirect("article_detail", slug=article.slug)
    return _article_form_page(request, form=form, article=article, status=400 if form.errors else 200)


@require_GET
def article_suggest(request):
    """The new-ticket form asks while the subject is typed (htmx); a fragment, maybe empty."""
    rows = selectors.article_suggestions_for(user=request.user, role=request.role, text=request.GET.get("subject", ""))
    return render(request, "knowledge/_suggestions.html", {"suggestions": rows})


# --- on the ticket page -----------------------------------------------------------------


def _on_ticket(request, number: int, action):
    """Run `action(ticket)` on a visible ticket; a refusal becomes a message, never a 500."""
    ticket = ticket_get_for(user=request.user, role=request.role, number=number)
    try:
        result = action(ticket)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _errors(error))
        return redirect("ticket_detail", number=number)
    return result


@require_POST
def ticket_article_link(request, number: int):
    form = LinkForm(request.POST)

    def action(ticket):
        if request.role != ENGINEER:
            raise PermissionDenied("Only engineers link articles to tickets.")
        if not form.is_valid():
            raise ValidationError("Enter an article's address or slug.")
        article = selectors.article_find_for_link(
            user=request.user, role=request.role, reference=form.cleaned_data["article"]
        )
        if article is None:
            raise ValidationError("No published article has that address.")
        services.ticket_article_link(ticket=ticket, actor=request.user, role=request.role, article=article)
        note = f"Linked “{article.title}”."
        if article.visibility != "requesters":
            note += " It is engineers-only, so the requester does not see it."
        messages.success(request, note)
        return redirect("ticket_detail", number=number)

    return _on_ticket(request, number, action)


@require_POST
def ticket_article_unlink(request, number: int, link_id: int):
    def action(ticket):
        if request.role != ENGINEER:
            raise PermissionDenied("Only engineers unlink articles.")
        link = selectors.ticket_link_get_for(ticket=ticket, role=request.role, link_id=link_id)
        services.ticket_article_unlink(link=link, actor=request.user, role=request.role)
        messages.success(request, "Link removed.")
        return redirect("ticket_detail", number=number)

    return _on_ticket(request, number, action)


@require_POST
def ticket_article_draft(request, number: int):
    def action(ticket):
        article = services.article_draft_from_ticket(ticket=ticket, actor=request.user, role=request.role)
        messages.success(request, "Draft article made from the ticket: review it, then publish.")
        return redirect("article_edit", slug=article.slug)

    return _on_ticket(request, number, action)
