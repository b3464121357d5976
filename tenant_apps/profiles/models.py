"""A person's profile on one site (avatar, phone, timezone... arrive with the profiles issue)."""

from django.conf import settings
from django.db import models


class Profile(models.Model):
    # A tenant table pointing at the public user table: no database constraint, or PostgreSQL
    # adds two triggers on the user table per site (DESIGN section 3). Users are never deleted.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    job_title = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"
