"""Query strings carrying a NUL character, refused before any view reads them.

PostgreSQL text cannot hold NUL (0x00). Forms refuse it already (Django's CharField has
ProhibitNullCharactersValidator), but list pages read their filters straight from request.GET
(`?q=`, `?category=`, `?site=`...), and a NUL there reached the query as a DataError: a 500.
"""

from django.http import HttpResponseBadRequest


class RejectNulQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in value for _key, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest("The address contains a NUL character.", content_type="text/plain")
        return self.get_response(request)
