"""A person's profile on one site (avatar, phone, timezone... arrive with the profiles issue)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class NotificationKind(models.TextChoices):
    NEW_TICKET = "new_ticket", "A new ticket is opened (engineers)"
    REPLY = "reply", "Someone replies on a ticket I follow"
    STATUS = "status", "The status of my ticket changes"
    SLA_BREACH = "sla_breach", "A ticket assigned to me breaches its SLA (engineers)"


class Profile(models.Model):
    # A tenant table pointing at the public user table: no database constraint, or PostgreSQL
    # adds two triggers on the user table per site (DESIGN section 3). Users are never deleted.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    job_title = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    notifications_off = ArrayField(
        models.CharField(max_length=20, choices=NotificationKind.choices), default=list, blank=True
    )

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"
