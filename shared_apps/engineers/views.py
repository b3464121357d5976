"""The engineers' workspace on the root domain: one queue over every covered site."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from shared_apps.engineers.selectors import QUEUE_TABS, engineer_sites, queue_for
from shared_apps.tenancy.links import site_url_for_subdomain
from shared_apps.tenancy.middleware import not_found
from shared_apps.tenancy.selectors import ROLE_ENGINEER
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
        "sites": engineer_sites(user=request.user).filter(status="active").order_by("name"),
        "priorities": Priority.choices,
        "statuses": Ticket.Status.choices,
        "categories": DEFAULT_CATEGORIES,
    }
    # htmx polls the table every 30 s; only the table (with its tab counts) comes back.
    template = "engineers/_queue_table.html" if request.htmx else "engineers/queue.html"
    return render(request, template, context)
