"""What the people of a suspended site see instead of the site: the "suspended" page, saying why.

The reason comes from billing: its dunning suspends a site whose invoice stayed unpaid past the
grace period and marks the subscription (`suspended_for_nonpayment`), and recording the payment
reactivates it; any other suspension is a platform admin's, and only they lift it. Who learns
what: the client admin gets the overdue invoices and the way back (the billing pages stay open
to them, see `TenantAccessMiddleware`); staff learn that it is a billing matter their
administrators can settle; engineers (the IT company) get the plain reason.
"""

from django.shortcuts import render
from django.utils import timezone

from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN


def suspended_page(request):
    from shared_apps.billing import selectors as billing

    site = request.tenant
    suspension = billing.site_suspension_for(client=site)
    overdue = []
    if suspension.for_nonpayment and request.role == ROLE_CLIENT_ADMIN:
        overdue = list(billing.invoice_overdue_list_for(user=request.user, client=site, today=timezone.localdate()))
    context = {"suspension": suspension, "overdue": overdue, "today": timezone.localdate()}
    return render(request, "tenancy/suspended.html", context, status=403)
