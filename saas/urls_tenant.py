"""URLs of a client site (`<subdomain>.<root>`, its own schema). The tenant-access middleware
has already decided that the user may be here and set `request.role`."""

from django.urls import include, path

from shared_apps.engineers import views as engineer_views
from shared_apps.tenancy import views

urlpatterns = [
    path("", views.site_home, name="site_home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("team/", views.team, name="team"),
    path("team/signup/", views.team_signup_settings, name="team_signup_settings"),
    path("team/<int:membership_id>/deactivate/", views.team_member_deactivate, name="team_member_deactivate"),
    path("team/<int:membership_id>/reactivate/", views.team_member_reactivate, name="team_member_reactivate"),
    path("team/invitations/<int:invitation_id>/cancel/", views.team_invitation_cancel, name="team_invitation_cancel"),
    path("", include("tenant_apps.tickets.urls")),
    path("", include("tenant_apps.profiles.urls")),
    # An engineer's one picture for every site they cover (client staff's: `person_avatar`).
    path("engineers/<int:user_id>/avatar/", engineer_views.engineer_avatar, name="engineer_avatar"),
    path("", include("tenant_apps.ai.urls")),
    path("", include("tenant_apps.reviews.urls")),
    path("", include("shared_apps.billing.urls")),
    path("", include("tenant_apps.knowledge.urls")),
]

handler403 = "shared_apps.tenancy.error_pages.permission_denied"
handler404 = "shared_apps.tenancy.error_pages.page_not_found"
