from django.urls import path

from tenant_apps.tickets import views

urlpatterns = [
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:number>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:number>/update/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:number>/time/", views.ticket_time, name="ticket_time"),
    path("tickets/<int:number>/time/<int:entry_id>/edit/", views.ticket_time_edit, name="ticket_time_edit"),
    path("tickets/<int:number>/time/<int:entry_id>/delete/", views.ticket_time_delete, name="ticket_time_delete"),
    path("tickets/<int:number>/share/", views.ticket_share, name="ticket_share"),
    path("tickets/<int:number>/merge/", views.ticket_merge, name="ticket_merge"),
    path("tickets/<int:number>/messages/", views.ticket_messages, name="ticket_messages"),
    path("tickets/<int:number>/history/", views.ticket_history, name="ticket_history"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.ticket_attachment, name="ticket_attachment"),
    path("reports/", views.ticket_report, name="ticket_report"),
    path("settings/sla/", views.sla_settings, name="sla_settings"),
]
