"""Billing URLs of the root domain's console (platform admins)."""

from django.urls import path

from shared_apps.billing import views

urlpatterns = [
    path("console/billing/", views.billing_overview, name="billing_overview"),
    path("console/billing/invoices/", views.billing_invoice_list, name="billing_invoice_list"),
    path("console/billing/invoices/<slug:number>/", views.console_invoice, name="console_invoice"),
    path("console/billing/invoices/<slug:number>/pdf/", views.console_invoice_pdf, name="console_invoice_pdf"),
    path("console/billing/invoices/<slug:number>/csv/", views.console_invoice_csv, name="console_invoice_csv"),
    path(
        "console/billing/invoices/<slug:number>/lines/<int:line_id>/",
        views.console_invoice_line,
        name="console_invoice_line",
    ),
    path("console/billing/invoices/<slug:number>/paid/", views.console_invoice_paid, name="console_invoice_paid"),
    path("console/billing/plans/", views.billing_plans, name="billing_plans"),
    path("console/billing/plans/<int:pk>/", views.billing_plan_edit, name="billing_plan_edit"),
    path("console/billing/subscriptions/", views.billing_subscriptions, name="billing_subscriptions"),
    path(
        "console/billing/subscriptions/<slug:subdomain>/",
        views.billing_subscription_edit,
        name="billing_subscription_edit",
    ),
]
