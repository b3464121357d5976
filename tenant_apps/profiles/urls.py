from django.urls import path

from tenant_apps.profiles import views

urlpatterns = [
    path("profile/", views.profile_edit, name="profile"),
    path("profile/avatar/", views.profile_avatar, name="profile_avatar"),
    path("profile/avatar/remove/", views.profile_avatar_remove, name="profile_avatar_remove"),
    path("profile/notifications/", views.notification_settings, name="notification_settings"),
    path("people/<int:user_id>/avatar/", views.person_avatar, name="person_avatar"),
]
