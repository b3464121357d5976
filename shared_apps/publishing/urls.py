"""Root-domain pages of what the IT company publishes (included from saas/urls_public.py)."""

from django.urls import path

from shared_apps.publishing import views

urlpatterns = [
    path("kb/", views.publishing_article_list, name="publishing_article_list"),
    path("kb/new/", views.publishing_article_create, name="publishing_article_create"),
    path("kb/<slug:slug>/edit/", views.publishing_article_edit, name="publishing_article_edit"),
    path("announcements/", views.announcement_list, name="announcement_list"),
    path("announcements/new/", views.announcement_create, name="announcement_create"),
    path("announcements/<int:pk>/edit/", views.announcement_edit, name="announcement_edit"),
    path("announcements/<int:pk>/end/", views.announcement_end, name="announcement_end"),
]
