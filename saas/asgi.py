"""ASGI entry point: HTTP through Django, websockets (live ticket threads) through Channels.

Websockets: `TenantWebsocketMiddleware` resolves the Host to a site (the HTTP host cache) before
`AuthMiddlewareStack` reads the session; the consumers check access themselves
(tenant_apps/tickets/consumers.py, docs/architecture.md "Live ticket threads").
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_http = get_asgi_application()  # sets Django up before the imports below touch models

from channels.auth import AuthMiddlewareStack  # noqa: E402

from shared_apps.tenancy.asgi import TenantWebsocketMiddleware  # noqa: E402
from tenant_apps.tickets.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http,
        "websocket": TenantWebsocketMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything imported so far lives as long as the process: keep it out of the garbage
# collector's scans, which made the slow tail of requests (docs/benchmarks.md, queue section).
gc.freeze()
