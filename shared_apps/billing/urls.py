"""Billing URLs of a client site (its client admins)."""

from django.urls import path

from shared_apps.billing import views

urlpatterns = [
    path("billing/", views.billing_home, name="billing_home"),
    path("billing/invoices/<slug:number>/", views.billing_invoice, name="billing_invoice"),
    path("billing/invoices/<slug:number>/pdf/", views.billing_invoice_pdf, name="billing_invoice_pdf"),
    path("billing/invoices/<slug:number>/csv/", views.billing_invoice_csv, name="billing_invoice_csv"),
    path(
        "billing/invoices/<slug:number>/lines/<int:line_id>/", views.billing_invoice_line, name="billing_invoice_line"
    ),
]
