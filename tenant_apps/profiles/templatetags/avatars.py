"""`{% avatar person %}`: a person's picture on this site, or their initials on a coloured disc.

An engineer covering the site shows their one picture for every site (`engineer_avatar`), anyone
else their picture on this site (`person_avatar`); `person_card` (cached) says which.
`{% engineer_avatar user_id version name %}` draws an engineer's picture from values a page has
already read (the queue's assignee column, the console's engineer list): no card, no query.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from tenant_apps.profiles.selectors import person_card

register = template.Library()
TONES = 6


def initials_of(person) -> str:
    return _initials((getattr(person, "full_name", "") or "").strip() or (getattr(person, "email", "") or "?"))


def _initials(name: str) -> str:
    """Two letters of a name ("Ana Engineer" -> "AE"), one of an email ("ben@x.example" -> "B")."""
    parts = name.split()
    if "@" in name or not parts:
        return (name or "?")[0].upper()
    return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()


def _picture(url_name: str, user_id: int, version: int, size: int):
    url = reverse(url_name, args=[user_id])
    return format_html(
        '<img class="avatar avatar-{}" src="{}?v={}" width="{}" height="{}" alt="">', size, url, version, size, size
    )


def _disc(user_id: int, letters: str, size: int):
    return format_html(
        '<span class="avatar avatar-initials avatar-tone-{} avatar-{}" aria-hidden="true">{}</span>',
        user_id % TONES, size, letters,
    )  # fmt: skip


@register.simple_tag
def avatar(person, size: int = 28):
    if person is None:
        return format_html(
            '<span class="avatar avatar-initials avatar-tone-0 avatar-{}" aria-hidden="true">TD</span>', size
        )
    card = person_card(user_id=person.pk)
    if card.avatar_version:
        url_name = "engineer_avatar" if card.avatar_shared else "person_avatar"
        return _picture(url_name, person.pk, card.avatar_version, size)
    return _disc(person.pk, initials_of(person), size)


@register.simple_tag
def engineer_avatar(user_id: int | None, version: int, name: str, size: int = 28):
    """`version` 0 (no picture) draws the initials of `name` (a display name or an email)."""
    if user_id is None:
        return ""
    if version:
        return _picture("engineer_avatar", user_id, version, size)
    return _disc(user_id, _initials(name.strip() or "?"), size)
