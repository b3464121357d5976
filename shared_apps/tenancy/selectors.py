"""Reads about sites and who may use them. Every selector takes the acting user."""

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from shared_apps.tenancy.models import Client, Invitation, Membership

ROLE_PLATFORM = "platform"  # platform admin, on the root domain
ROLE_ENGINEER = "engineer"
ROLE_CLIENT_ADMIN = Membership.Role.ADMIN.value
ROLE_STAFF = Membership.Role.STAFF.value
ROLE_MEMBER = "member"  # on the root domain: a client user, who works on their own site


def site_role_for(*, user, client: Client | None) -> str | None:
    """What `user` is on `client` (a client site), or on the root domain when `client` is None.

    On a client site: an active engineer covering it is "engineer", else an active membership
    gives "admin" or "staff", else None (the middleware answers 404). Platform admins get no
    implicit access to client data; they manage sites from the root domain.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    from shared_apps.engineers.selectors import engineer_covers

    if client is None:
        if user.is_superuser:
            return ROLE_PLATFORM
        if engineer_covers(user=user, client=None):
            return ROLE_ENGINEER
        return ROLE_MEMBER
    if engineer_covers(user=user, client=client):
        return ROLE_ENGINEER
    return Membership.objects.filter(user=user, client=client, is_active=True).values_list("role", flat=True).first()


def client_sites_queryset() -> QuerySet[Client]:
    """Client sites only: never the public row or the template."""
    return Client.objects.exclude(schema_name__in=[settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA])


def site_list_for(*, user) -> QuerySet[Client]:
    """The platform console's list: every client site with its primary domain and member count."""
    if not user.is_superuser:
        return Client.objects.none()
    return (
        client_sites_queryset()
        .annotate(user_count=Count("memberships", filter=Q(memberships__is_active=True)))
        .order_by("name")
    )


def site_get_for(*, user, subdomain: str) -> Client | None:
    if not user.is_superuser:
        return None
    return client_sites_queryset().filter(subdomain=subdomain).first()


def sites_of(*, user) -> list[Client]:
    """The sites a person may open from the root domain's home page."""
    if not user.is_authenticated:
        return []
    from shared_apps.engineers.selectors import engineer_sites

    sites = engineer_sites(user=user)
    if sites is not None:
        return list(sites.order_by("name"))
    return list(client_sites_queryset().filter(memberships__user=user, memberships__is_active=True).order_by("name"))


def member_list_for(*, user, client: Client) -> QuerySet[Membership]:
    """A site's people, for its client admins (and the engineers covering it)."""
    if site_role_for(user=user, client=client) not in (ROLE_CLIENT_ADMIN, ROLE_ENGINEER):
        return Membership.objects.none()
    return Membership.objects.filter(client=client).select_related("user").order_by("-is_active", "user__email")


def invitation_pending_list_for(*, user, client: Client) -> QuerySet[Invitation]:
    if site_role_for(user=user, client=client) not in (ROLE_CLIENT_ADMIN, ROLE_ENGINEER):
        return Invitation.objects.none()
    return Invitation.objects.filter(client=client, accepted_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-created_at"
    )


def invitation_get_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("client").filter(token_hash=Invitation.hash_token(token)).first()
