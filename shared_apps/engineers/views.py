"""The engineers' workspace on the root domain (one queue over every covered site), and an
engineer's picture, served on the root domain and on every site they cover."""

from datetime import date, timedelta
from functools import cached_property, wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from shared_apps.engineers import selectors, services
from shared_apps.engineers.forms import EngineerInviteForm, EngineerProfileForm
from shared_apps.engineers.selectors import QUEUE_TABS, queue_covered_sites, queue_for, queue_rows, queue_site_menu
from shared_apps.tenancy.middleware import not_found
from shared_apps.tenancy.selectors import ROLE_ENGINEER
from shared_apps.tenancy.views import platform_admin_required
from tenant_apps.profiles.avatars import avatar_response
from tenant_apps.tickets.models import DEFAULT_CATEGORIES, Priority, Ticket

PAGE_SIZE = 50
SITE_MENU_MAX = 50
TAB_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "breaching": "Breaching soon", "all": "All covered"}
FILTERS = ("site", "priority", "status", "category")


def engineer_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.role != ROLE_ENGINEER:
            return not_found(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


class KnownCountPaginator(Paginator):
    """A paginator given its total: the tab's count is already known from `queue_for()`, so no
    second COUNT query (3.0 ms for "Breaching soon" at 1,000 sites; docs/benchmarks.md)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count


@engineer_required
def queue(request):
    tab = request.GET.get("tab") if request.GET.get("tab") in QUEUE_TABS else "mine"
    filters = {key: request.GET.get(key, "") for key in FILTERS}
    covered = queue_covered_sites(user=request.user)  # a subquery, built once for the page's queries
    rows, counts = queue_for(user=request.user, tab=tab, covered=covered, **filters)
    page = KnownCountPaginator(rows, PAGE_SIZE, count=counts[tab]).get_page(request.GET.get("page"))
    page.object_list = queue_rows(page.object_list)
    context = {"page": page, "tab": tab, "filters": filters,
               "tab_labels": [(name, TAB_LABELS[name], counts[name]) for name in QUEUE_TABS]}  # fmt: skip
    # htmx polls the table every 30 s; only the table (with its tab counts) comes back.
    if request.htmx:
        return render(request, "engineers/_queue_table.html", context)
    context |= {
        # A menu for a few sites; past that a text box (1,000 <option>s cost ~30 ms to render).
        "sites": queue_site_menu(user=request.user, limit=SITE_MENU_MAX, covered=covered),
        "priorities": Priority.choices,
        "statuses": Ticket.Status.choices,
        "categories": DEFAULT_CATEGORIES,
    }
    return render(request, "engineers/queue.html", context)


@platform_admin_required
def engineer_list(request):
    form = EngineerInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.engineer_invite(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("email", error.messages)
        else:
            messages.success(request, f"{profile.user.email} is invited; they choose a password from the email.")
            return redirect("engineer_edit", profile_id=profile.pk)
    engineers = selectors.engineer_list_for(user=request.user)
    context = {"engineers": engineers, "form": form, "today": date.today()}
    return render(request, "engineers/list.html", context, status=400 if form.errors else 200)


@platform_admin_required
def engineer_edit(request, profile_id: int):
    profile = get_object_or_404(selectors.engineer_list_for(user=request.user), pk=profile_id)
    form = EngineerProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        release, sites = data.pop("release_tickets"), data.pop("sites")
        services.engineer_profile_update(profile=profile, by=request.user, sites=sites, **data)
        note = "Saved."
        if release:
            released = services.engineer_tickets_release(profile=profile, by=request.user)
            note += f" {released} open ticket(s) went back to the pool."
        messages.success(request, note)
        return redirect("engineer_list")
    return render(request, "engineers/edit.html", {"profile": profile, "form": form})


@engineer_required
def my_time(request):
    try:
        day = date.fromisoformat(request.GET.get("week", "")) if request.GET.get("week") else date.today()
    except ValueError:
        day = date.today()
    monday = day - timedelta(days=day.weekday())
    entries, per_site = selectors.time_week_for(user=request.user, monday=monday)
    billable = sum(e.minutes for e in entries if e.billable)
    context = {
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "entries": entries,
        "per_site": per_site.items(),
        "billable": billable,
        "non_billable": sum(e.minutes for e in entries) - billable,
    }
    return render(request, "engineers/my_time.html", context)


@require_GET
@login_required
def engineer_avatar(request, user_id: int):
    """Who may see it is `selectors.engineer_avatar_get_for`; anyone else gets the 404 of a
    missing picture. On a site the tenant-access middleware has already sent anonymous visitors
    to the login page and strangers to 404; on the root domain `login_required` does the first."""
    schema = request.tenant.schema_name
    profile = selectors.engineer_avatar_get_for(
        viewer=request.user, user_id=user_id, schema_name=None if schema == settings.PUBLIC_SCHEMA_NAME else schema
    )
    if profile is None:
        raise Http404("No picture")
    return avatar_response(profile.avatar)
