"""The IT company's engineers: which sites they cover and what they are good at (public schema)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class EngineerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engineer_profile")
    skills = ArrayField(models.SlugField(max_length=50), default=list, blank=True, help_text="Category slugs.")
    covers_all_sites = models.BooleanField(default=False)
    sites = models.ManyToManyField("tenancy.Client", blank=True, related_name="engineers")
    capacity = models.PositiveIntegerField(default=10, help_text="Most open tickets assigned at once.")
    is_available = models.BooleanField(default=True)
    away_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"Engineer {self.user}"
