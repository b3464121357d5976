from django.urls import path

from tenant_apps.profiles import views

urlpatterns = [path("profile/notifications/", views.notification_settings, name="notification_settings")]
