"""URLs of the root domain (public schema): landing, login, platform console."""

from django.urls import include, path

from shared_apps.engineers import views as engineer_views
from shared_apps.tenancy import views
from tenant_apps.ai import console as ai_console

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("queue/", engineer_views.queue, name="queue"),
    path("my-time/", engineer_views.my_time, name="my_time"),
    path("engineers/<int:user_id>/avatar/", engineer_views.engineer_avatar, name="engineer_avatar"),
    path("", include("shared_apps.feedback.urls")),
    path("", include("shared_apps.publishing.urls")),
    path("console/", views.console_sites, name="console_sites"),
    path("console/engineers/", engineer_views.engineer_list, name="engineer_list"),
    path("console/engineers/<int:profile_id>/", engineer_views.engineer_edit, name="engineer_edit"),
    path("console/sites/<slug:subdomain>/", views.console_site_detail, name="console_site_detail"),
    path("console/sites/<slug:subdomain>/suspend/", views.console_site_suspend, name="console_site_suspend"),
    path("console/sites/<slug:subdomain>/reactivate/", views.console_site_reactivate, name="console_site_reactivate"),
    path("console/sites/<slug:subdomain>/delete/", views.console_site_delete, name="console_site_delete"),
    path("console/sites/<slug:subdomain>/ai/", ai_console.console_site_ai, name="console_site_ai"),
    path("", include("shared_apps.billing.urls_console")),
    path("console/sites/<slug:subdomain>/export/", views.console_site_export, name="console_site_export"),
    path(
        "console/sites/<slug:subdomain>/export/<str:name>",
        views.console_site_export_download,
        name="console_site_export_download",
    ),
]

handler403 = "shared_apps.tenancy.error_pages.permission_denied"
handler404 = "shared_apps.tenancy.error_pages.page_not_found"
