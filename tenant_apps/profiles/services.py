"""Writes to a person's profile on the current site."""

from zoneinfo import available_timezones

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction

from tenant_apps.profiles.avatars import avatar_stored
from tenant_apps.profiles.models import NotificationKind, Profile
from tenant_apps.profiles.phone import phone_normalize
from tenant_apps.profiles.selectors import card_key


def _card_forget(user_id: int) -> None:
    key = card_key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))  # a concurrent read may have cached the old row


def person_cards_forget(*, user_id: int) -> None:
    """Drop the person's card on every site and on the root domain, for what shows on all of
    them: an engineer's picture and coverage (one query for the schema names, one cache call)."""
    from shared_apps.tenancy.models import Client

    schemas = {settings.PUBLIC_SCHEMA_NAME, *Client.objects.values_list("schema_name", flat=True)}
    keys = [card_key(user_id, schema) for schema in sorted(schemas)]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


@transaction.atomic
def notification_preferences_set(*, user, enabled: list[str]) -> Profile:
    """Turn on exactly the `enabled` kinds of email for `user` on this site."""
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.notifications_off = sorted(set(NotificationKind.values) - set(enabled))
    profile.save(update_fields=["notifications_off"])
    return profile


@transaction.atomic
def profile_update(*, user, full_name: str, phone: str, job_title: str, timezone: str) -> Profile:
    """Name (on the account: the same on every site), phone, job title and timezone (this site)."""
    errors: dict[str, list[str]] = {}
    full_name = " ".join((full_name or "").split())
    if len(full_name) > 150:
        errors["full_name"] = ["Use at most 150 characters."]
    job_title = " ".join((job_title or "").split())
    if len(job_title) > 100:
        errors["job_title"] = ["Use at most 100 characters."]
    if timezone and timezone not in available_timezones():
        errors["timezone"] = [f"'{timezone}' is not a timezone we know."]
    try:
        phone = phone_normalize(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    if user.full_name != full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    profile.phone, profile.job_title, profile.timezone = phone, job_title, timezone
    profile.save(update_fields=["phone", "job_title", "timezone"])
    _card_forget(user.pk)
    return profile


def avatar_set(*, user, upload) -> Profile:
    """Check and re-encode `upload` (profiles/avatars.py), then store it as the user's avatar on
    this site. A refused file raises ValidationError before anything is stored; if saving the
    profile fails, the new file is deleted again; the old file goes once the change commits.
    (An engineer's one picture for every site is `engineers.services.engineer_avatar_set`.)"""
    with avatar_stored(upload, folder=f"sites/{connection.schema_name}/avatars/{user.pk}") as name:
        with transaction.atomic():
            profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
            old = profile.avatar.name
            profile.avatar.name = name
            profile.avatar_version += 1
            profile.save(update_fields=["avatar", "avatar_version"])
            if old:
                transaction.on_commit(lambda: default_storage.delete(old))
            _card_forget(user.pk)
    return profile


@transaction.atomic
def avatar_remove(*, user) -> None:
    profile = Profile.objects.select_for_update().filter(user=user).first()
    if profile is None or not profile.avatar:
        return
    old = profile.avatar.name
    profile.avatar = ""
    profile.avatar_version += 1
    profile.save(update_fields=["avatar", "avatar_version"])
    transaction.on_commit(lambda: default_storage.delete(old))
    _card_forget(user.pk)
