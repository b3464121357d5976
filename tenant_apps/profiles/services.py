from django.db import transaction

from tenant_apps.profiles.models import NotificationKind, Profile


@transaction.atomic
def notification_preferences_set(*, user, enabled: list[str]) -> Profile:
    """Turn on exactly the `enabled` kinds of email for `user` on this site."""
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.notifications_off = sorted(set(NotificationKind.values) - set(enabled))
    profile.save(update_fields=["notifications_off"])
    return profile
