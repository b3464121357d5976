from tenant_apps.profiles.models import Profile


def notifications_off_for(*, user_ids: list[int]) -> dict[int, set[str]]:
    """Kinds of email each user turned off on this site (one query)."""
    rows = Profile.objects.filter(user_id__in=user_ids).values_list("user_id", "notifications_off")
    return {user_id: set(off) for user_id, off in rows}


def profile_for(*, user) -> Profile:
    return Profile.objects.filter(user=user).first() or Profile(user=user)
