"""`{% avatar person %}`: a person's picture on this site, or their initials on a coloured disc."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from tenant_apps.profiles.selectors import person_card

register = template.Library()
TONES = 6


def initials_of(person) -> str:
    name = (getattr(person, "full_name", "") or "").strip()
    if name:
        parts = name.split()
        letters = parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")
    else:
        letters = (getattr(person, "email", "") or "?")[0]
    return letters.upper()


@register.simple_tag
def avatar(person, size: int = 28):
    if person is None:
        return format_html(
            '<span class="avatar avatar-initials avatar-tone-0 avatar-{}" aria-hidden="true">TD</span>', size
        )
    card = person_card(user_id=person.pk)
    if card.avatar_version:
        url = reverse("person_avatar", args=[person.pk])
        return format_html(
            '<img class="avatar avatar-{}" src="{}?v={}" width="{}" height="{}" alt="">',
            size, url, card.avatar_version, size, size,
        )  # fmt: skip
    return format_html(
        '<span class="avatar avatar-initials avatar-tone-{} avatar-{}" aria-hidden="true">{}</span>',
        person.pk % TONES, size, initials_of(person),
    )  # fmt: skip
