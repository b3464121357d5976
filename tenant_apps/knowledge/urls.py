"""The knowledge base on a client site (included from saas/urls_tenant.py), the ticket page's
article actions, and dismissing an announcement (shared_apps.publishing)."""

from django.urls import path

from shared_apps.publishing import views as publishing_views
from tenant_apps.knowledge import views

urlpatterns = [
    path("kb/", views.article_list, name="article_list"),
    path("kb/new/", views.article_create, name="article_create"),
    path("kb/suggest/", views.article_suggest, name="article_suggest"),
    path("kb/global/<slug:slug>/", views.global_article_detail, name="global_article_detail"),
    path("kb/global/<slug:slug>/vote/", views.global_article_vote, name="global_article_vote"),
    path("kb/<slug:slug>/", views.article_detail, name="article_detail"),
    path("kb/<slug:slug>/edit/", views.article_edit, name="article_edit"),
    path("kb/<slug:slug>/vote/", views.article_vote, name="article_vote"),
    path("tickets/<int:number>/articles/link/", views.ticket_article_link, name="ticket_article_link"),
    path(
        "tickets/<int:number>/articles/<int:link_id>/unlink/", views.ticket_article_unlink, name="ticket_article_unlink"
    ),
    path("tickets/<int:number>/articles/draft/", views.ticket_article_draft, name="ticket_article_draft"),
    path("announcements/<int:pk>/dismiss/", publishing_views.announcement_dismiss, name="announcement_dismiss"),
]
