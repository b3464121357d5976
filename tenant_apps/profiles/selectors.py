"""Reads of profiles. `person_card` is what every page needs about a person (timezone, picture),
cached in the default cache under a key that names the site, so a warm page costs no query."""

from dataclasses import dataclass
from zoneinfo import available_timezones

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery

from tenant_apps.profiles.models import Profile

# Writes drop the entry at once in a shared cache (REDIS_URL); with the per-process local-memory
# cache, other processes may show the old timezone or picture for up to this long.
CARD_SECONDS = 300


@dataclass(frozen=True)
class PersonCard:
    timezone: str  # "" = the site default
    avatar_version: int  # 0 = no picture
    # True: the picture is the engineer's one for every site they cover (`engineer_avatar`);
    # False: the person's own on this site (`person_avatar`).
    avatar_shared: bool = False


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
    """Timezone and picture of a person on the current site (cached; one query on a miss).

    An engineer covering this site shows their one picture for every site (on
    `EngineerProfile`); anyone else shows their picture on this site. On the root domain (no
    profiles) only engineers have one. Profile writes drop the entry (profiles/services.py);
    changes to an engineer's picture or coverage drop it everywhere (`person_cards_forget`)."""
    key = card_key(user_id)
    cached = cache.get(key)
    if cached is not None:
        return PersonCard(*cached)
    card = _card_read(user_id)
    cache.set(key, (card.timezone, card.avatar_version, card.avatar_shared), CARD_SECONDS)
    return card


def _card_read(user_id: int) -> PersonCard:
    from shared_apps.accounts.models import User
    from shared_apps.engineers.models import EngineerProfile
    from shared_apps.engineers.selectors import engineers_covering_schema

    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        engineer = EngineerProfile.objects.filter(user_id=user_id).exclude(avatar="")
        version = engineer.values_list("avatar_version", flat=True).first() or 0
        return PersonCard(timezone="", avatar_version=version, avatar_shared=bool(version))
    # One query for both kinds of person: the user row (public) with this site's profile and,
    # if they are an engineer covering this site, their shared picture (search_path reaches both).
    own = Profile.objects.filter(user_id=OuterRef("pk"))
    engineer = engineers_covering_schema(connection.schema_name).filter(user_id=OuterRef("pk"))
    row = (
        User.objects.filter(pk=user_id)
        .values_list(
            Subquery(own.values("timezone")[:1]),
            Subquery(own.exclude(avatar="").values("avatar_version")[:1]),
            Exists(engineer),
            Subquery(engineer.exclude(avatar="").values("avatar_version")[:1]),
        )
        .first()
    )
    if row is None:
        return NO_CARD
    zone, own_version, covers_here, shared_version = row
    if covers_here:
        return PersonCard(timezone=zone or "", avatar_version=shared_version or 0, avatar_shared=True)
    return PersonCard(timezone=zone or "", avatar_version=own_version or 0)


def avatar_get(*, user_id: int) -> Profile | None:
    """The profile whose avatar a member of this site may see (the tenant-access middleware has
    already checked that the viewer belongs to this site or covers it), or None."""
    return Profile.objects.filter(user_id=user_id).exclude(avatar="").first()


def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(available_timezones() - {"localtime", "Factory"})
    return [("", f"Site default ({settings.TIME_ZONE})"), *((zone, zone.replace("_", " ")) for zone in zones)]
