"""ASGI entry point: HTTP through Django; websockets join here with the live-ticket issue."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

application = ProtocolTypeRouter({"http": get_asgi_application()})

# Everything imported so far lives as long as the process: keep it out of the garbage
# collector's scans, which made the slow tail of requests (docs/benchmarks.md, queue section).
gc.freeze()
