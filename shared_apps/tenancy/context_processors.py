from django.conf import settings

from shared_apps.tenancy.links import root_url

_ROLE_LABELS = {"platform": "Platform admin", "engineer": "Engineer", "admin": "Client admin", "staff": "Staff"}


def site(request):
    tenant = getattr(request, "tenant", None)
    is_client_site = tenant is not None and tenant.schema_name != settings.PUBLIC_SCHEMA_NAME
    role = getattr(request, "role", None)
    return {
        "client_site": tenant if is_client_site else None,  # not "site": allauth uses that name
        "role": role,
        "role_label": _ROLE_LABELS.get(role, ""),
        "root_url": root_url(),
    }
