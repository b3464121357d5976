from django.urls import path

from tenant_apps.reviews import views

urlpatterns = [
    path("tickets/<int:number>/review/", views.ticket_review, name="ticket_review"),
    path("reports/satisfaction/", views.csat_report, name="csat_report"),
    path("service-review/", views.service_review, name="service_review"),
]
