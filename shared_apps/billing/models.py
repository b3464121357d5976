"""Plans a site is on (public schema). Subscriptions, usage and invoices come with billing."""

from decimal import Decimal

from django.db import models


class Plan(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="EUR")
    seats = models.PositiveIntegerField(default=25, help_text="Client users allowed on the site.")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["monthly_fee", "name"]

    def __str__(self) -> str:
        return self.name
