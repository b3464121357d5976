"""Tickets live in each client site's own schema. This issue seeds the categories; the ticket
lifecycle itself comes with the tickets issue."""

from django.db import models

DEFAULT_CATEGORIES = [
    ("network", "Network"),
    ("hardware", "Hardware"),
    ("software", "Software"),
    ("access", "Access"),
    ("email", "Email"),
    ("security", "Security"),
    ("other", "Other"),
]


class Category(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name
