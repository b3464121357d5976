"""A person's profile on one site: phone, job title, timezone, avatar, email preferences.

The display name is the account's `full_name` (one person, one name on every site); everything
here is per site, because a person may be on several sites in different roles.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class NotificationKind(models.TextChoices):
    NEW_TICKET = "new_ticket", "A new ticket is opened (engineers)"
    REPLY = "reply", "Someone replies on a ticket I follow"
    STATUS = "status", "The status of my ticket changes"
    SLA_BREACH = "sla_breach", "A ticket assigned to me breaches its SLA (engineers)"
    REVIEW_REQUEST = "review_request", "A ticket of mine is resolved: ask me to rate it"
    LOW_RATING = "low_rating", "A resolved ticket gets a rating of 2 or less (client admins, its engineer)"


class Profile(models.Model):
    # A tenant table pointing at the public user table: no database constraint, or PostgreSQL
    # adds two triggers on the user table per site (DESIGN section 3). Users are never deleted.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    job_title = models.CharField(max_length=100, blank=True)
    # E.164 ("+442079460958"), written only through profiles/phone.py; blank = none.
    phone = models.CharField(max_length=16, blank=True)
    # An IANA zone name; blank = the site default (settings.TIME_ZONE).
    timezone = models.CharField(max_length=64, blank=True, default="")
    # A 256 px square WebP re-encoded by profiles/avatars.py, served by the `person_avatar` view
    # only (never a public media URL). The version changes with every upload, for caching.
    avatar = models.FileField(max_length=200, blank=True)
    avatar_version = models.PositiveIntegerField(default=0)
    notifications_off = ArrayField(
        models.CharField(max_length=20, choices=NotificationKind.choices), default=list, blank=True
    )

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"
