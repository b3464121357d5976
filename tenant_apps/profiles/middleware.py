"""Show every time in the viewer's timezone (their profile on this site; else TIME_ZONE).

Django converts aware datetimes to the current timezone when templates render them (`{{ }}` and
the `date`/`time` filters), so activating it once per request is enough. Runs after
TenantAccessMiddleware, which has set `request.role`. The timezone comes from the cached person
card (profiles/selectors.py): no query on a warm request.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenant_apps.profiles.selectors import person_card


def _zone_for(request):
    if not getattr(request, "role", None) or not request.user.is_authenticated:
        return None
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None  # no profiles on the root domain: TIME_ZONE
    name = person_card(user_id=request.user.pk).timezone
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = _zone_for(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
