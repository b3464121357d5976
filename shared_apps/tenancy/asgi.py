"""Which site a websocket is for: the ASGI twin of `CachedTenantMiddleware`.

It sits in front of `AuthMiddlewareStack` (saas/asgi.py) and resolves the Host header to a
`Client` through the same host cache as HTTP requests, putting it in `scope["tenant"]`. It does
not switch the schema (a consumer's database calls run in a thread pool; each one enters
`tenant_context(scope["tenant"])` itself). A socket is refused, with an application close code
the page can act on (docs/architecture.md, "Live ticket threads"), when:

- the host is not one of ours or names no site (4404, like the HTTP 404 page);
- the browser's Origin is another host (4403): the session cookie is valid on every subdomain,
  so without this a page on one host could open a socket on another in the visitor's name.

Refusals accept the handshake first and then close: a refused handshake reaches the browser as
code 1006 with no reason, a close after accept carries our code.
"""

from urllib.parse import urlparse

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django_tenants.utils import remove_www, schema_context

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return ""


async def close_with(receive, send, code: int) -> None:
    """Accept, then close with `code` (see the module docstring)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


def _unused(request):  # CachedTenantMiddleware is used for its host lookup only
    raise NotImplementedError


@database_sync_to_async
def _client_for(hostname: str):
    from shared_apps.tenancy.middleware import CachedTenantMiddleware
    from shared_apps.tenancy.models import Domain

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        try:
            return CachedTenantMiddleware(get_response=_unused).get_tenant(Domain, hostname)
        except Domain.DoesNotExist:
            return None


class TenantWebsocketMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        host = _header(scope, b"host").lower()
        hostname, _port = split_domain_port(host)
        if not hostname or not validate_host(hostname, settings.ALLOWED_HOSTS):
            return await close_with(receive, send, CLOSE_NOT_FOUND)
        origin = _header(scope, b"origin")
        # Hostnames only: a proxy may pass Host without the port the browser put in Origin.
        if origin and (urlparse(origin).hostname or "") != hostname:
            return await close_with(receive, send, CLOSE_FORBIDDEN)
        client = await _client_for(remove_www(hostname))
        if client is None:
            return await close_with(receive, send, CLOSE_NOT_FOUND)
        return await self.app({**scope, "tenant": client}, receive, send)
