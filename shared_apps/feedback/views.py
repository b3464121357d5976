"""Root-domain pages: an engineer's own ratings across sites; CSAT per site and engineer for
platform admins, with the client admins' service reviews. All read the public index only."""

from django.core.paginator import Paginator
from django.shortcuts import render

from shared_apps.engineers.views import engineer_required
from shared_apps.feedback import selectors
from shared_apps.tenancy.links import site_url_for_subdomain
from shared_apps.tenancy.views import platform_admin_required

PAGE_SIZE = 50


@engineer_required
def my_ratings(request):
    summary, rows = selectors.ratings_for_engineer(user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.reference = f"{(row.client.subdomain or '').replace('-', '').upper()}-{row.ticket_number}"
        row.url = site_url_for_subdomain(row.client.subdomain, f"/tickets/{row.ticket_number}/")
    return render(request, "feedback/my_ratings.html", {"summary": summary, "page": page})


@platform_admin_required
def console_satisfaction(request):
    context = {
        "overall": selectors.csat_overall(user=request.user),
        "sites": selectors.csat_per_site(user=request.user),
        "engineers": selectors.csat_per_engineer(user=request.user),
        "service_reviews": selectors.service_review_list_for(user=request.user),
        "window_days": selectors.WINDOW_DAYS,
    }
    return render(request, "feedback/console_satisfaction.html", context)
