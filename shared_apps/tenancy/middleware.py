"""Which site a request is for, and whether the acting user may be there at all.

`CachedTenantMiddleware` resolves the host to a site (schema) with no query once warm.
`TenantAccessMiddleware` runs right after authentication and denies by default: on a client
site an anonymous user goes to login and a logged-in user without a membership or engineer
coverage gets the same 404 as a site that does not exist. It sets `request.role`, so no view
has to remember any of this.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from shared_apps.tenancy import host_cache
from shared_apps.tenancy.models import Client
from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN, site_role_for
from shared_apps.tenancy.suspension import suspended_page

# Served to anyone on a client site: health checks and static files.
ALWAYS_OPEN = ("/healthz", "/static/")
# Served to anonymous visitors: login, sign-up, password reset, email confirmation, and the
# invitation a new member follows before they have an account.
ANONYMOUS_OPEN = ("/accounts/", "/invite/")
# Served to a logged-in user who is not (yet) on this site: logging out, accepting an invitation.
NON_MEMBER_OPEN = ("/accounts/logout/", "/invite/")
# Served to members of a suspended site: logging out, and people's pictures (the suspended page's
# own user menu shows the user's).
SUSPENDED_OPEN = ("/accounts/logout/", "/people/")
# ...and to its client admins: the billing pages (invoices, their PDFs and lines).
SUSPENDED_ADMIN_OPEN = ("/billing/",)


def not_found(request):
    """The one 404 page: unknown host, invisible site and invisible object look the same (no site
    name, no role, no user menu), so a stranger cannot tell a hidden site from a missing one."""
    return render(request, "404.html", {"client_site": None, "role": None, "bare": True}, status=404)


class CachedTenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        cached = host_cache.host_cache_get(hostname)
        if cached is None and hostname == settings.ROOT_DOMAIN:
            # The root domain is whatever ROOT_DOMAIN says; it needs no Domain row.
            cached = Client.objects.get(schema_name=settings.PUBLIC_SCHEMA_NAME)
            host_cache.host_cache_set(hostname, cached)
        if cached is False:
            raise domain_model.DoesNotExist(hostname)
        if cached is not None:
            return cached
        try:
            client = super().get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            host_cache.host_cache_set(hostname, None)
            raise
        host_cache.host_cache_set(hostname, client)
        return client

    def no_tenant_found(self, request, hostname):
        return not_found(request)


class TenantAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            request.role = site_role_for(user=request.user, client=None)
            return self.get_response(request)
        if request.path.startswith(ALWAYS_OPEN):
            request.role = None
            return self.get_response(request)
        if not request.user.is_authenticated:
            request.role = None
            if request.path.startswith(ANONYMOUS_OPEN):
                return self.get_response(request)
            return redirect_to_login(request.get_full_path())
        request.role = site_role_for(user=request.user, client=tenant)
        if request.role is None:
            if request.path.startswith(NON_MEMBER_OPEN):
                return self.get_response(request)
            return not_found(request)
        if tenant.is_suspended and not request.path.startswith(SUSPENDED_OPEN):
            # A client admin can still read the site's invoices, whoever suspended it: what to
            # pay to get it back, or what was billed. Nothing else of the site's data.
            if not (request.role == ROLE_CLIENT_ADMIN and request.path.startswith(SUSPENDED_ADMIN_OPEN)):
                return suspended_page(request)
        return self.get_response(request)
