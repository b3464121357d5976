"""The engineers' workspace on the root domain: one queue over every covered site."""

from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from shared_apps.engineers import selectors, services
from shared_apps.engineers.forms import EngineerInviteForm, EngineerProfileForm
from shared_apps.engineers.selectors import QUEUE_TABS, engineer_sites, queue_for
from shared_apps.tenancy.links import site_url_for_subdomain
from shared_apps.tenancy.middleware import not_found
from shared_apps.tenancy.selectors import ROLE_ENGINEER
from shared_apps.tenancy.views import platform_admin_required
from tenant_apps.tickets.models import DEFAULT_CATEGORIES, Priority, Ticket

PAGE_SIZE = 50
TAB_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "breaching": "Breaching soon", "all": "All covered"}
FILTERS = ("site", "priority", "status", "category")


def engineer_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.role != ROLE_ENGINEER:
            return not_found(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@engineer_required
def queue(request):
    tab = request.GET.get("tab") if request.GET.get("tab") in QUEUE_TABS else "mine"
    filters = {key: request.GET.get(key, "") for key in FILTERS}
    rows, counts = queue_for(user=request.user, tab=tab, **filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        prefix = (row.client.subdomain or "").replace("-", "").upper()
        row.reference = f"{prefix}-{row.number}"
        row.url = site_url_for_subdomain(row.client.subdomain, f"/tickets/{row.number}/")
    context = {
        "page": page,
        "tab": tab,
        "tab_labels": [(name, TAB_LABELS[name], counts[name]) for name in QUEUE_TABS],
        "filters": filters,
        # A menu for a few sites; past that a text box (1,000 <option>s cost ~30 ms to render).
        "sites": _site_menu(request.user),
        "priorities": Priority.choices,
        "statuses": Ticket.Status.choices,
        "categories": DEFAULT_CATEGORIES,
    }
    # htmx polls the table every 30 s; only the table (with its tab counts) comes back.
    template = "engineers/_queue_table.html" if request.htmx else "engineers/queue.html"
    return render(request, template, context)


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
    return render(request, "engineers/list.html", {"engineers": engineers, "form": form, "today": date.today()})


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


SITE_MENU_MAX = 50


def _site_menu(user):
    sites = list(engineer_sites(user=user).filter(status="active").order_by("name")[: SITE_MENU_MAX + 1])
    return sites if len(sites) <= SITE_MENU_MAX else None
