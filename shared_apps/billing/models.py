"""Plans a site is on and what it uses (public schema). Subscriptions and invoices come with billing."""

from decimal import Decimal

from django.db import models


class Plan(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="EUR")
    seats = models.PositiveIntegerField(default=25, help_text="Client users allowed on the site.")
    ai_token_quota = models.PositiveBigIntegerField(
        default=500_000, help_text="AI tokens a site may use per month with external providers."
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["monthly_fee", "name"]

    def __str__(self) -> str:
        return self.name


class UsageRecord(models.Model):
    """Tokens a site used with one provider and model in one month (first day of the month)."""

    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="usage_records")
    month = models.DateField(help_text="First day of the month.")
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=80, blank=True)
    calls = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "month", "provider", "model"], name="usage_unique_month_model")
        ]
        indexes = [models.Index(fields=["client", "month"], name="usage_client_month")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.month:%Y-%m} {self.provider}/{self.model}: {self.tokens}"

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out
