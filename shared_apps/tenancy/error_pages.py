"""Django's 403 and 404 views, rendered on the request's schema.

Under ASGI, Django turns an exception raised by a view (PermissionDenied, Http404) into a
response with `sync_to_async(response_for_exception, thread_sensitive=False)`, i.e. in another
thread than the view, with that thread's database connection, which django-tenants never moved
to the site's schema. The pages extend base.html, whose review banner reads the site's tables:
without this, it read public's, and the 403 or 404 became a 500 (ProgrammingError).
"""

from functools import wraps

from django.views import defaults
from django_tenants.utils import tenant_context


def _on_request_schema(view):
    @wraps(view)
    def handler(request, exception):
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return view(request, exception)
        with tenant_context(tenant):  # Django's views render the template before returning
            return view(request, exception)

    return handler


permission_denied = _on_request_schema(defaults.permission_denied)
page_not_found = _on_request_schema(defaults.page_not_found)
