"""Reads of profiles. `person_card` is what every page needs about a person (timezone, avatar),
cached in the default cache under a key that names the site, so a warm page costs no query."""

from dataclasses import dataclass
from zoneinfo import available_timezones

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tenant_apps.profiles.models import Profile

# Writes drop the entry at once in a shared cache (REDIS_URL); with the per-process local-memory
# cache, other processes may show the old timezone or picture for up to this long.
CARD_SECONDS = 300


@dataclass(frozen=True)
class PersonCard:
    timezone: str  # "" = the site default
    avatar_version: int  # 0 = no avatar


NO_CARD = PersonCard(timezone="", avatar_version=0)


def notifications_off_for(*, user_ids: list[int]) -> dict[int, set[str]]:
    """Kinds of email each user turned off on this site (one query)."""
    rows = Profile.objects.filter(user_id__in=user_ids).values_list("user_id", "notifications_off")
    return {user_id: set(off) for user_id, off in rows}


def profile_for(*, user) -> Profile:
    return Profile.objects.filter(user=user).first() or Profile(user=user)


def card_key(user_id: int, schema: str | None = None) -> str:
    return f"person-card:{schema or connection.schema_name}:{user_id}"


def person_card(*, user_id: int) -> PersonCard:
    """Timezone and avatar version of a person on the current site (cached; one query on a miss).
    Profile writes drop the entry (profiles/services.py)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return NO_CARD  # profiles live in the sites' schemas
    key = card_key(user_id)
    cached = cache.get(key)
    if cached is not None:
        return PersonCard(*cached)
    row = Profile.objects.filter(user_id=user_id).values_list("timezone", "avatar_version").first()
    card = PersonCard(*row) if row else NO_CARD
    cache.set(key, (card.timezone, card.avatar_version), CARD_SECONDS)
    return card


def avatar_get(*, user_id: int) -> Profile | None:
    """The profile whose avatar a member of this site may see (the tenant-access middleware has
    already checked that the viewer belongs to this site or covers it), or None."""
    return Profile.objects.filter(user_id=user_id).exclude(avatar="").first()


def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(available_timezones() - {"localtime", "Factory"})
    return [("", f"Site default ({settings.TIME_ZONE})"), *((zone, zone.replace("_", " ")) for zone in zones)]
