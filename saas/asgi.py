"""ASGI entry point: HTTP through Django; websockets join here with the live-ticket issue."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

application = ProtocolTypeRouter({"http": get_asgi_application()})
