from django.urls import path, re_path

from tenant_apps.tickets import consumers

websocket_urlpatterns = [
    path("ws/tickets/<int:number>/", consumers.TicketConsumer.as_asgi()),
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
