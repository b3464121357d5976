"""Which sites an engineer covers."""

from django.db.models import Q, QuerySet

from shared_apps.engineers.models import EngineerProfile


def engineer_covers(*, user, client) -> bool:
    """True if `user` is an active engineer covering `client` (or, with `client=None`, any site).

    One query whatever the answer.
    """
    profiles = EngineerProfile.objects.filter(user=user, is_active=True, user__is_active=True)
    if client is None:
        return profiles.exists()
    return profiles.filter(Q(covers_all_sites=True) | Q(sites=client)).exists()


def engineer_sites(*, user) -> QuerySet | None:
    """The client sites an engineer covers, or None if `user` is not an active engineer."""
    from shared_apps.tenancy.selectors import client_sites_queryset

    profile = EngineerProfile.objects.filter(user=user, is_active=True).first()
    if profile is None:
        return None
    if profile.covers_all_sites:
        return client_sites_queryset()
    return client_sites_queryset().filter(engineers=profile)


def engineer_users_covering(*, client):
    """Active engineers (as users) covering `client`, for assignment menus. One query."""
    from shared_apps.accounts.models import User

    return (
        User.objects.filter(is_active=True, engineer_profile__is_active=True)
        .filter(Q(engineer_profile__covers_all_sites=True) | Q(engineer_profile__sites=client))
        .distinct()
        .order_by("full_name", "email")
    )
