"""Root-domain pages for platform admins and engineers: global articles and announcements; and
dismissing an announcement on a client site."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from shared_apps.publishing import selectors, services
from shared_apps.publishing.forms import AnnouncementForm, GlobalArticleForm
from shared_apps.tenancy.middleware import not_found


def publisher_required(view):
    """Login first, then 404 for anyone but platform admins and engineers (checked before the
    HTTP method, like the console)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.role not in selectors.PUBLISHERS:
            return not_found(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _form_errors(form, error: Exception) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    else:
        form.add_error(None, str(error) or "You cannot do that.")


# --- global articles --------------------------------------------------------------------


@publisher_required
def publishing_article_list(request):
    query = request.GET.get("q", "")
    articles = selectors.global_article_list_for(role=request.role, query=query)
    return render(request, "publishing/article_list.html", {"articles": articles, "query": query})


def _article_page(request, form, article=None):
    status = 400 if form.errors else 200
    return render(request, "publishing/article_form.html", {"form": form, "article": article}, status=status)


@publisher_required
def publishing_article_create(request):
    form = GlobalArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.global_article_create(actor=request.user, role=request.role, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _form_errors(form, error)
        else:
            done = "published on every site" if article.status == "published" else "saved as a draft"
            messages.success(request, f"“{article.title}” is {done}.")
            return redirect("publishing_article_list")
    return _article_page(request, form)


@publisher_required
def publishing_article_edit(request, slug: str):
    article = selectors.global_article_get_for_publisher(role=request.role, slug=slug)
    initial = {
        "title": article.title,
        "body": article.body,
        "category_slug": article.category_slug,
        "visibility": article.visibility,
        "status": article.status,
    }
    form = GlobalArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.global_article_update(article=article, actor=request.user, role=request.role, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"“{article.title}” saved.")
            return redirect("publishing_article_list")
    return _article_page(request, form, article)


# --- announcements ----------------------------------------------------------------------


@publisher_required
def announcement_list(request):
    announcements = selectors.announcement_list_for(user=request.user, role=request.role)
    return render(request, "publishing/announcement_list.html", {"announcements": announcements})


def _announcement_page(request, form, announcement=None):
    status = 400 if form.errors else 200
    context = {"form": form, "announcement": announcement}
    return render(request, "publishing/announcement_form.html", context, status=status)


@publisher_required
def announcement_create(request):
    targets = selectors.announcement_targets_for(user=request.user, role=request.role)
    form = AnnouncementForm(request.POST or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        try:
            services.announcement_create(actor=request.user, role=request.role, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Announcement saved.")
            return redirect("announcement_list")
    return _announcement_page(request, form)


@publisher_required
def announcement_edit(request, pk: int):
    announcement = selectors.announcement_get_for(user=request.user, role=request.role, pk=pk)
    targets = selectors.announcement_targets_for(user=request.user, role=request.role)
    initial = {
        "title": announcement.title,
        "body": announcement.body,
        "severity": announcement.severity,
        "starts_at": announcement.starts_at,
        "ends_at": announcement.ends_at,
        "all_sites": announcement.all_sites,
        "sites": list(announcement.sites.all()),
    }
    form = AnnouncementForm(request.POST or None, initial=initial, targets=targets)
    if request.method == "POST" and form.is_valid():
        data = {"all_sites": False, **form.cleaned_data}
        try:
            services.announcement_update(announcement=announcement, actor=request.user, role=request.role, **data)
        except (ValidationError, PermissionDenied) as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Announcement saved.")
            return redirect("announcement_list")
    return _announcement_page(request, form, announcement)


@publisher_required
@require_POST
def announcement_end(request, pk: int):
    announcement = selectors.announcement_get_for(user=request.user, role=request.role, pk=pk)
    services.announcement_end(announcement=announcement, actor=request.user, role=request.role)
    messages.success(request, f"“{announcement.title}” has ended; the sites no longer show it.")
    return redirect("announcement_list")


# --- on a client site -------------------------------------------------------------------


@require_POST
def announcement_dismiss(request, pk: int):
    """Hide an announcement for this person (on every site that shows it). htmx removes the
    banner in place; a plain form post goes back to the page it came from."""
    announcement = selectors.announcement_shown_on(client=request.tenant, pk=pk)
    services.announcement_dismiss(announcement=announcement, user=request.user)
    if request.htmx:
        return HttpResponse("")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    return redirect(back)
